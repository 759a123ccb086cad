import os
import sys

# Tests run on small shapes; one thread keeps parallel helpers and CI predictable.
os.environ.setdefault('OMP_NUM_THREADS', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
