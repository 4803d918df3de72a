__version__ = "0.1.0"

# Before torch starts OpenMP: with the default (spinning) waits, a training step was ~50x slower whenever other
# processes shared the cores (a sweep's workers, a notebook beside a test run). Set OMP_WAIT_POLICY to override.
import os as _os
_os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
