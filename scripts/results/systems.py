"""The systems tables: memory at scale, throughput, long files, SSL fidelity and cost, int8, DDP, kill and resume."""

from __future__ import annotations

import statistics

from scripts.results.common import LANGS, RAW, md_table, pm_pop, provenance_table, read_raw, summary_percent


def scale_memory_table(names: tuple[str, ...] = ("scale_memory.json", "scale_memory_35h.json")) -> str:
    """Peak RSS of training by corpus size and data path (``benchmarks/scale_memory.py`` outputs)."""
    runs = [run for name in names if (RAW / name).is_file() for run in read_raw(name)["runs"]]
    rows = [[f"{run['hours']:.1f}", run["code"], run["peak_rss_mb"], run["train_wall_seconds"]]
            for run in sorted(runs, key=lambda r: (r["code"], r["hours"]))]
    return md_table(["training audio (h)", "data path", "peak RSS (MB)", "wall s (prepare + 20 steps)"], rows)


def scale_memory_provenance(names: tuple[str, ...] = ("scale_memory.json", "scale_memory_35h.json")) -> str:
    rows = [[f"`{read_raw(n)['command']}`", read_raw(n)["machine"]["date"],
             ", ".join(str(x) for x in read_raw(n)["machine"]["load_average_at_start"])]
            for n in names if (RAW / n).is_file()]
    return md_table(["command", "date", "load average at start (1, 5, 15 min)"], rows)


def throughput_ab_table(name: str = "throughput_ab.json") -> str:
    """Training throughput of the two data paths, alternated in one run (``benchmarks/throughput_ab.py``)."""
    r = read_raw(name)
    rows = [[run["round"], run["code"], f"{run['audio_sec_per_sec']:.0f}",
             ", ".join(f"{x:.2f}" for x in run["load_average"])] for run in r["runs"]]
    rows.append(["mean", "lhotse data path / before", f"{r['ratio_new_to_old']:.3f}", ""])
    return md_table(["round", "data path", "audio s / s", "load average after"], rows)


def demo_data_path_table(before: str = "demo_oldpath_eval_test.json", after: str = "demo_lhotse_eval_test.json") -> str:
    """Test PER per language of the demo trained through the old and the new data path (same corpus, one seed)."""
    a, b = read_raw(before), read_raw(after)
    langs = [lang for lang in LANGS if lang in a["per"] and lang in b["per"]]
    rows = [[lang, f"{100 * a['per'][lang]['rate']:.2f}", f"{100 * b['per'][lang]['rate']:.2f}",
             f"{100 * (b['per'][lang]['rate'] - a['per'][lang]['rate']):+.2f}"] for lang in langs]
    mean = [statistics.fmean(r["per"][lang]["rate"] for lang in langs) for r in (a, b)]
    rows.append(["mean", f"{100 * mean[0]:.2f}", f"{100 * mean[1]:.2f}", f"{100 * (mean[1] - mean[0]):+.2f}"])
    return md_table(["language", "PER % before (features in memory)", "PER % lhotse data path", "change"], rows)


def long_file_table(name: str = "long_file_memory.json") -> str:
    """Peak RSS of decoding one long recording (``benchmarks/long_file_memory.py``)."""
    r = read_raw(name)
    rows = [[f"{run['minutes']:g}", run["peak_rss_mb"], run["wall_seconds"], run["output_tokens"]] for run in r["runs"]]
    rows.append([f"`{r['command']}`", r["machine"]["date"], "load " + ", ".join(
        str(x) for x in r["machine"]["load_average_at_start"]), ""])
    return md_table(["minutes of audio", "peak RSS (MB)", "wall s (one thread)", "words and times printed"], rows)


def ssl_fidelity_table(name: str = "ssl_fidelity.json") -> str:
    """Largest absolute hidden-state differences of converted Hugging Face checkpoints (``benchmarks/ssl_fidelity.py``)."""
    rows = [[m["model"], f"{m['parameters'] / 1e6:.1f}M", f"{m['layers']} x {m['dim']}", f"{m['max_abs_diff_last']:.1e}",
             f"{m['max_abs_diff_earlier_layers']:.1e}", f"{m['max_abs_diff_torchaudio_importer']:.1e}",
             f"{m['hidden_state_abs_max']:.2f}"] for m in read_raw(name)["models"]]
    return md_table(["architecture (random weights)", "parameters", "layers x width",
                   "max abs diff, last layer vs Hugging Face", "earlier layers vs Hugging Face",
                   "vs torchaudio's importer", "largest hidden value"], rows)


def ssl_cost_table(name: str = "ssl_finetune_cost.json") -> str:
    """Training throughput of the small wav2vec2-style encoder and the demo TDNN, alternated (``ssl_finetune_cost.py``)."""
    r = read_raw(name)
    rows = []
    for encoder, mean in r["mean_audio_sec_per_sec"].items():
        runs = [x["audio_sec_per_sec"] for x in r["runs"] if x["encoder"] == encoder]
        rows.append([encoder, f"{r['parameters'][encoder] / 1e6:.2f}M", ", ".join(f"{v:.1f}" for v in runs),
                     f"{mean:.1f}", f"{mean / r['mean_audio_sec_per_sec'][next(iter(r['mean_audio_sec_per_sec']))]:.3f}"])
    return md_table(["encoder", "parameters", "seconds of audio per second, each run", "mean", "relative to the TDNN"],
                  rows)


def ssl_pretrain_table(name: str = "ssl_pretrain_fsdd.json") -> str:
    """FSDD held-out word accuracy with and without BEST-RQ pre-training, over seeds (``ssl_pretrain_fsdd.py``)."""
    r = read_raw(name)
    rows = []
    for arm, title in (("baseline", f"no pre-training ({r['pre_steps'] + r['fine_steps']} supervised steps)"),
                       ("pretrained", f"BEST-RQ {r['pre_steps']} steps, then {r['fine_steps']} supervised steps")):
        values = r[arm]["runs"]
        seconds = [x[f"{arm}_seconds"] for x in r["runs"]]
        rows.append([title, pm_pop(values), ", ".join(f"{v:.2f}" for v in values), len(values),
                     f"{statistics.fmean(seconds):.0f}"])
    return md_table(["arm", "word accuracy % (mean ± std)", "seeds", "runs", "wall seconds per run (mean)"], rows)


def int8_per_cost_table(name: str = "int8_per_cost.json") -> str:
    """Test PER in float32 and int8 of the same trained models, per seed, and the paired difference
    (mean ± sample std; ``benchmarks/int8_per_cost.py``)."""
    r = read_raw(name)
    rows = [[run["seed"], f"{100 * run['per_float32']['mean']:.2f}", f"{100 * run['per_int8']['mean']:.2f}",
             f"{100 * run['difference']:+.2f}"] for run in r["runs"]]
    rows.append([f"mean ± std ({r['difference']['n']} seeds)",
                 *(summary_percent(r[k]) for k in ("per_float32", "per_int8")),
                 summary_percent(r["difference"], "+")])
    return md_table(["seed", "test PER % float32", "test PER % int8", "int8 - float32 (points)"], rows)


def ddp_throughput_table(names: tuple[str, ...] = ("ddp_throughput.json", "ddp_throughput_demo.json")) -> str:
    """Training throughput by process and thread layout (``benchmarks/ddp_throughput.py`` outputs)."""
    rows = []
    for name in names:
        r = read_raw(name)
        recipe = r["command"].split("--recipe ")[1].split()[0]
        for c in r["configs"]:
            rows.append([f"`{recipe}`", c["name"], f"{c['audio_sec_per_sec']:.0f}", f"{c['wall_s']:.1f}"])
        rows.append([f"`{recipe}`", "ratio: 2 processes / 1 process x 1 thread; / 1 process x 2 threads",
                     f"{r['summary']['ddp_vs_1_thread']:.2f} / {r['summary']['ddp_vs_1_process_all_threads']:.2f}", ""])
    return md_table(["recipe", "configuration", "audio s / s", "wall s"], rows)


def kill_resume_table(name: str = "kill_resume.json") -> str:
    """Seconds lost to a kill and resume (``benchmarks/kill_resume.py``)."""
    r = read_raw(name)
    rows = [["uninterrupted run", f"{r['uninterrupted_s']:.2f}"],
            [f"killed run, until the kill (step {r['killed_at_step']})", f"{r['until_kill_s']:.2f}"],
            [f"resumed run (from step {r['resumed_from_step']})", f"{r['resume_s']:.2f}"],
            ["**lost (killed + resumed - uninterrupted)**", f"**{r['lost_s']:.2f}**"],
            ["start-up of a run (imports, features, model; a 0-step run)", f"{r['startup_s']:.2f}"],
            [f"recomputed steps ({r['killed_at_step']} - {r['resumed_from_step']}) x {r['seconds_per_step']:.3f} s",
             f"{(r['killed_at_step'] - r['resumed_from_step']) * r['seconds_per_step']:.2f}"],
            ["resumed model identical to the uninterrupted one", "yes" if r["resumed_model_identical"] else "**no**"]]
    return md_table(["", "seconds"], rows)


def encoder_choice_table(name: str = "encoder_choice.json") -> str:
    """Encoders compared on the demo corpus with the same steps (``benchmarks/encoder_choice.py``)."""
    rows = [[k, v["steps"], f"{v['audio_sec_per_sec']:.0f}", f"{v['final_loss']:.1f}",
             f"{100 * v['dev_per_mean']:.2f}" if "dev_per_mean" in v else "-"] for k, v in read_raw(name).items()]
    return md_table(["encoder", "steps", "audio s / s", "final train loss", "dev PER % (mean of 8)"], rows)


# the tables this module makes, by the name a document's <!-- table:NAME --> block gives
TABLES = {
    "ssl-fidelity": ssl_fidelity_table,
    "ssl-cost": ssl_cost_table,
    "ssl-pretrain-fsdd": ssl_pretrain_table,
    "ssl-fidelity-run": lambda: provenance_table("ssl_fidelity.json"),
    "ssl-cost-run": lambda: provenance_table("ssl_finetune_cost.json"),
    "ssl-pretrain-fsdd-run": lambda: provenance_table("ssl_pretrain_fsdd.json"),
    "ssl-pretrain-fsdd-longer": lambda: ssl_pretrain_table("ssl_pretrain_fsdd_longer.json"),
    "ssl-pretrain-fsdd-longer-run": lambda: provenance_table("ssl_pretrain_fsdd_longer.json"),
    "int8-per-cost": int8_per_cost_table,
    "int8-per-cost-run": lambda: provenance_table("int8_per_cost.json"),
    "long-file-memory": long_file_table,
    "demo-data-path": demo_data_path_table,
    "scale-memory": scale_memory_table,
    "scale-memory-runs": scale_memory_provenance,
    "throughput-ab": throughput_ab_table,
    "throughput-ab-workers": lambda: throughput_ab_table("throughput_ab_workers.json"),
    "ddp-throughput": ddp_throughput_table,
    "kill-resume": kill_resume_table,
    "encoder-choice": encoder_choice_table,
}
