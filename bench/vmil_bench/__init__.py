"""vmi-launcher's benchmark (bench/run.sh runs `python3 -m vmil_bench`)."""
