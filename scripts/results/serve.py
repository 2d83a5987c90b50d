"""The sections of ``docs/results/serve.md`` from the serving benchmarks' JSON (never typed by hand).

Reads ``benchmarks/results/{batch_decode,serve_load,stream_latency,serve_memory}.json``.
"""

from __future__ import annotations

import json

from scripts.results.common import RAW


def load(name: str) -> dict:
    return json.loads((RAW / f"{name}.json").read_text())


def when(r: dict, load: list | None = None) -> str:
    m = r["machine"]
    load = load or r.get("load_average_at_start") or m["load_average_at_start"]
    return (f"{m['date']}, {m['cpus_usable']}-core {m['cpu']} CPU, no GPU, torch {m['torch']}; "
            f"load average at start {load[0]:g} / {load[1]:g} / {load[2]:g} (1 / 5 / 15 min)")


def verdict(met: bool) -> str:
    return "met" if met else "not met"


def batch_section(r: dict) -> str:
    p = r["in_process_1_thread"]
    rows = [f"| decoding alone, in one process, 1 thread | {p['files']} | {p['audio_seconds']:g} | "
            f"{p['wall_seconds']:g} | {p['rtf_wall']:.4f} | {p['cpu_seconds']:g} | {p['rtf_cpu']:.4f} | |"]
    for c in r["cli"]:
        rows.append(f"| `speechtl decode` (start-up included), {c['workers']} worker(s) x 1 thread | {c['files']} | "
                    f"{c['audio_seconds']:g} | {c['wall_seconds']:g} | {c['rtf']:.4f} | | | "
                    f"{100 * c['word_accuracy']:.1f}% |")
    return "\n".join([
        "## Batch decoding: the 3,000 FSDD recordings, 10 digit words",
        "",
        f"Command: `{r['command']}`. Model: `{r['model']}` (recipe `{r['model_recipe']}`: a 4-layer TDNN, 0.3M",
        "parameters, trained about a minute on 4 FSDD speakers, so the accuracy column is not a held-out score).",
        "Output: JSON lines with every word's start, end, phonemes and confidence "
        f"({r['cli'][0]['files_with_word_times']} of {r['cli'][0]['files']} files have words).",
        f"Measured {when(r)}; load average at the start of each run in the JSON.",
        "",
        "| run | files | audio (s) | wall (s) | RTF (wall) | CPU (s) | RTF (CPU) | word accuracy |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Goal: RTF at most 0.004 on one thread (pocketsphinx with a 10-word grammar: 0.016; this toolkit",
        "before batching: 0.034, issue 17). The wall-clock figures depend on what else ran on the 2 shared",
        "cores (see the load average); the CPU-time RTF is the work one thread did: "
        f"{p['rtf_cpu']:.4f}, {verdict(p['rtf_cpu'] <= 0.004)}; in wall-clock time on the shared machine "
        f"{p['rtf_wall']:.4f}, {verdict(p['rtf_wall'] <= 0.004)}.",
        *(["With 2 workers the start-up of a second process and the contention for the 2 busy cores cost",
           "more than the second worker brought here."] if r["cli"][1]["wall_seconds"] > r["cli"][0]["wall_seconds"]
          else []),
    ])


def load_section(r: dict) -> str:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
    return "\n".join([
        "## Load test: concurrent uploads on loopback",
        "",
        f"Command: `{r['command']}`. Server: `{r['server']}`; model `{r['model']}`.",
        f"{r['clients']} client threads each post 1-5 s recordings (FSDD digits joined, 8 kHz WAV) as fast as",
        f"answers come back: {r['rounds']} rounds, {r['seconds']:g} s of load in all. Measured {when(r)}.",
        "",
        "| requests | per second | audio s per second | p50 latency (s) | p95 latency (s) | max (s) | errors | "
        "server RSS before, then 5 s after each round (MB) |",
        "|---|---|---|---|---|---|---|---|",
        f"| {r['requests']} | {r['requests_per_second']:g} | {r['audio_seconds_per_second']:g} | "
        f"{r['latency_p50_s']:g} | {r['latency_p95_s']:g} | {r['latency_max_s']:g} | {r['errors']} "
        f"{'(with --max-queue 16)' if '--max-queue 16' in r['server'] else ''} | "
        f"{r['rss_mb_before']:g}, then {', '.join(f'{x:g}' for x in r['rss_mb_after_each_round'])} |",
        "",
        f"Answers by status: {statuses}. The clients run on the same 2 cores as the server.",
        *(["",
           "The 0 errors hold for `--max-queue 16`: the defaults of that day (2 running, 8 waiting) turned 6 of",
           "16 simultaneous uploads away with 503 (issue 27). Today's defaults (2 running, 32 waiting, uploads",
           "decoded in worker processes) are checked by `tests/serve/test_serve_abuse.py` (16 simultaneous uploads,",
           "default flags: all 200); this benchmark was not rerun with them."]
          if "--max-queue 16" in r["server"] else []),
    ])


def stream_section(r: dict) -> str:
    return "\n".join([
        "## Streaming latency",
        "",
        f"Command: `{r['command']}`. Server: `{r['server']}`; model `{r['model']}`.",
        f"{r['files']} recordings ({r['audio_seconds']:g} s in all, FSDD digits joined with pauses) sent in "
        f"{r['message_ms']} ms PCM messages at the pace of real time. Measured {when(r)}.",
        "",
        "| partials | gap between partials p50 / p95 / max (s) | decoded audio trails the audio sent, "
        "p50 / p95 (s) | final after the end of the audio, p50 / max (s) | finals equal to offline | "
        "WER stream vs offline |",
        "|---|---|---|---|---|---|",
        f"| {r['partials']} | {r['partial_gap_p50_s']:g} / {r['partial_gap_p95_s']:g} / {r['partial_gap_max_s']:g} | "
        f"{r['decoded_lag_p50_s']:g} / {r['decoded_lag_p95_s']:g} | {r['final_delay_p50_s']:g} / "
        f"{r['final_delay_max_s']:g} | {r['finals_equal_offline']} of {r['files']} | {r['wer_stream_vs_offline']} |",
        "",
        f"Goals: a partial at least every 0.5 s ({verdict(r['partial_gap_p95_s'] <= 0.5)} at the 95th percentile, "
        f"{verdict(r['partial_gap_max_s'] <= 0.5)} at the maximum), the final within 0.3 s of the end of the audio "
        f"({verdict(r['final_delay_max_s'] <= 0.3)}). The server",
        "answers a partial per 0.25 s of audio received (here every third 100 ms message). The decoded audio",
        "trails by the TDNN's right context (31 filterbank frames, 0.31 s, less the audio still buffered);",
        "by construction the streamed final equals offline decoding of the same audio",
        "(`tests/decoding/test_streaming.py`).",
    ])


def memory_section(r: dict) -> str:
    rows = [f"| {u['upload']} | {u['bytes'] / 1e6:.1f} | {u['status']} | {u['seconds']:g} | {u['server_peak_mb']:g} | "
            f"{' / '.join(f'{x:g}' for x in u['worker_peaks_mb'])} |" for u in r["uploads"]]
    worst = max(max(u["server_peak_mb"], *u["worker_peaks_mb"]) for u in r["uploads"])
    start = list(r["rss_mb_at_start"].values())
    return "\n".join([
        "## Memory: the largest accepted upload",
        "",
        f"Command: `{r['command']}`. Server: `{r['server']}`; model `{r['model']}`.",
        "Before each upload the peak RSS (VmHWM) of the server process and of each of its child processes is reset",
        "(`/proc/PID/clear_refs`); after the answer it is read from `/proc/PID/status`. The uploads are the worst",
        "the default limits accept (`--max-upload-mb 20`, `--max-audio-seconds 300`); many channels cost no more",
        f"(downmixed block by block as they are read). Measured {when(r)}.",
        f"RSS at start: server {start[0]:g} MB (the model, and its stream searches built ahead), children "
        f"{' / '.join(f'{x:g}' for x in start[1:])} MB (multiprocessing's resource tracker, then the decoding "
        "processes).",
        "",
        "| upload | MB | status | seconds | server peak RSS (MB) | children's peak RSS (MB) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Goal: peak RSS under 1.5 GB for any single accepted request: the largest peak of any one process was "
        f"{worst:g} MB, {verdict(worst < 1536)}. `tests/serve/test_serve_abuse.py` asserts it for the 19.2 MB WAV.",
    ])


def _section(make, name: str):
    """A section of the page from the raw output ``name`` (the block ends on a newline)."""
    return lambda: make(load(name)).rstrip("\n") + "\n"


TABLES = {"serve-batch": _section(batch_section, "batch_decode"), "serve-load": _section(load_section, "serve_load"),
          "serve-stream": _section(stream_section, "stream_latency"),
          "serve-memory": _section(memory_section, "serve_memory")}
