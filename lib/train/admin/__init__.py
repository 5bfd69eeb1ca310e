"""Training administration: run folder and logging, TensorBoard, distributed helpers, stats."""
from .multigpu import DistInfo, cleanup_distributed, init_distributed, unwrap
from .run_folder import RunPaths, get_logger, setup_logging

__all__ = ["DistInfo", "RunPaths", "cleanup_distributed", "get_logger", "init_distributed", "setup_logging",
           "unwrap"]
