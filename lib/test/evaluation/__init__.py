"""Evaluation datasets: `get_dataset(name)` returns a SequenceList of `Sequence` (pytracking names)."""
from lib.test.evaluation.data import BaseDataset, Sequence, SequenceList
from lib.test.evaluation.datasets import dataset_names, get_dataset, load_dataset

__all__ = ["BaseDataset", "Sequence", "SequenceList", "dataset_names", "get_dataset", "load_dataset"]
