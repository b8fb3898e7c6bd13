#!/usr/bin/env python3
"""How this folder would be launched with ShinkaEvolve (codeevo reads the constants below
without running the script: the task message and the job's time limit)."""

import argparse

import yaml

TASK_SYS_MSG = """You are placing twelve points in the unit square. run_experiment(seed) returns
the points; the score is the distance between the closest pair, averaged over three seeded
runs. Every point must stay inside the square. Try structured layouts (staggered rows,
hexagonal patterns) and local repulsion."""


def main(config_path):
    from shinka.core import EvolutionConfig, ShinkaEvolveRunner
    from shinka.database import DatabaseConfig
    from shinka.launch import LocalJobConfig

    with open(config_path) as f:
        config = yaml.safe_load(f)
    config["evo_config"]["task_sys_msg"] = TASK_SYS_MSG
    runner = ShinkaEvolveRunner(
        evo_config=EvolutionConfig(**config["evo_config"]),
        job_config=LocalJobConfig(eval_program_path="evaluate.py", time="00:01:00"),
        db_config=DatabaseConfig(**config["db_config"]),
        max_evaluation_jobs=config["max_evaluation_jobs"],
        max_proposal_jobs=config["max_proposal_jobs"],
        max_db_workers=config["max_db_workers"],
    )
    runner.run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--config_path", default="shinka.yaml")
    main(parser.parse_args().config_path)
