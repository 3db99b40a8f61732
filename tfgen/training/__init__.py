"""The fit loop: `train(config)` runs (or resumes) a run with every callback.

Data adapters (`run_data`) and the per-epoch summaries (`summaries`) live beside it.
"""

from tfgen.training.fit_loop import TrainingDiverged, TrainResult, WorkerLost, train
