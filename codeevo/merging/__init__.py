"""Host-side tools of the model-merging problem: export an evolved method to safetensors
checkpoints (``export``), the baseline/held-out report (``report``), reading a run's best
program (``programs``). torch and safetensors are imported lazily, inside functions."""
