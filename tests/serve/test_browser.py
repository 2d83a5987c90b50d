"""The web page in headless Chromium, with a WAV file as the microphone (Selenium).

Slow, and it needs Debian's browser and driver:
``apt-get install -y chromium chromium-driver`` (then ``pytest -m slow tests/serve/test_browser.py``).
Screenshots go to ``$SPEECHTL_SCREENSHOTS`` (default: the test's temporary folder).
"""

import os
import shutil
import time
from pathlib import Path

import pytest
import soundfile as sf
import torch

from speechtl.serve.app import create_app
from speechtl.serve.config import ServeLimits
from speechtl.serve.server import Server
from serving import live_uvicorn

pytestmark = pytest.mark.slow

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def live(served):
    with live_uvicorn(create_app(Server([served], ServeLimits()))) as port:
        yield f"http://127.0.0.1:{port}", served


@pytest.fixture(scope="module")
def microphone(en_phrases, tmp_path_factory):
    """The fake microphone's WAV (three phrases with pauses, 16 kHz, 16-bit) and the vocabulary."""
    vocabulary, phrases = en_phrases
    pause = torch.zeros(8000)
    wave = torch.cat([x for samples, _ in phrases[:3] for x in (pause, samples)] + [pause]).numpy()
    path = tmp_path_factory.mktemp("mic") / "mic.wav"
    sf.write(path, wave, 16000, subtype="PCM_16")
    return path, vocabulary, len(wave) / 16000


@pytest.fixture
def browser(microphone, tmp_path):
    if not (CHROMIUM and DRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}", "--use-fake-ui-for-media-stream",
                 "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={microphone[0]}",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1000,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def wait_for(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_page_records_from_the_microphone_and_decodes_an_upload(live, browser, microphone, tmp_path):
    from selenium.webdriver.common.by import By

    url, served = live
    wav, vocabulary, seconds = microphone
    shots = Path(os.environ.get("SPEECHTL_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    find = lambda css: browser.find_element(By.CSS_SELECTOR, css)  # noqa: E731
    browser.get(url + "/")
    wait_for(lambda: find("#model").get_attribute("value") == "en-tdnn", what="the model list")
    assert find("#language").get_attribute("value") == "en"
    find("#words").send_keys(" ".join(vocabulary))

    # the microphone: words appear while it plays, the final words when it stops
    find("#record").click()
    wait_for(lambda: int(find("#partial").get_attribute("data-count") or 0) >= 4, what="partial results")
    wait_for(lambda: find("#partial").text not in ("", "…"), what="words while speaking")
    browser.save_screenshot(str(shots / "browser-1-speaking.png"))
    time.sleep(max(0.0, seconds - 1.0))
    find("#stop").click()
    spans = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#result .word"), what="the final words")
    browser.save_screenshot(str(shots / "browser-2-final.png"))
    spoken = [s.find_element(By.CSS_SELECTOR, ".w").text for s in spans]
    assert spoken and set(spoken) <= set(vocabulary)
    assert not find("#status").text

    # a click on a word plays its segment of the recording
    spans[0].click()
    wait_for(lambda: browser.execute_script("return !document.getElementById('player').paused || "
                                            "document.getElementById('player').currentTime > 0"), 10, "playback")

    # an upload gives the words the API gives for that file
    find("#file").send_keys(str(wav))
    find("#upload").click()
    spans = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#result .word"), what="uploaded words")
    browser.save_screenshot(str(shots / "browser-3-upload.png"))
    samples, rate = sf.read(wav, dtype="float32")
    want = served.recognizer.transcribe(samples, "en", words=vocabulary, sample_rate=rate)
    assert [s.find_element(By.CSS_SELECTOR, ".w").text for s in spans] == [w.word for w in want.words]
    assert spans[0].find_element(By.CSS_SELECTOR, "small").text == \
        f"{want.words[0].start:.2f}-{want.words[0].end:.2f} s"
    assert all((shots / f).stat().st_size > 1000 for f in ("browser-1-speaking.png", "browser-2-final.png",
                                                           "browser-3-upload.png"))
