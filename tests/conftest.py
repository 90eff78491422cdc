import os
import sys

# Tests import tensorflow as the reference; keep its start-up quiet and single-machine.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

# Run from a source checkout built with tools/dev_build.sh, or from an installed package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
