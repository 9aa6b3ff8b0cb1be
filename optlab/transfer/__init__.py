"""Transfer learning: parameters grouped by path rules, frozen or with their own learning rates.

* :func:`param_paths`, :func:`param_labels`: ``"Conv_0/kernel"``-style paths and ``(regex, label)``
  rules (first ``re.fullmatch`` wins; uncovered leaves and unused rules are errors).
* :func:`partition`: one transformation per group, ``None`` freezes (no state, no update, not
  differentiated by ``TrainState``); :func:`trainable_mask`, :func:`frozen_paths`.
* :func:`discriminative_lrs` (fastai ``slice(lo, hi)``), :func:`layerwise_lr_decay` (ELECTRA),
  :func:`group_learning_rates`.
* :func:`transfer_loss`: BatchNorm in frozen layers in inference mode (``train_bn`` to train them).
* :func:`two_stage`: feature extraction, then fine-tuning (Keras's recipe).
* :func:`run_experiment`: pretrain on digits 0-4, learn 5-9 from few labels (``python -m optlab transfer``).
"""

from ._experiment import ExperimentResult as ExperimentResult
from ._experiment import few_labels as few_labels
from ._experiment import run_experiment as run_experiment
from ._loss import transfer_loss as transfer_loss
from ._lr_groups import discriminative_lrs as discriminative_lrs
from ._lr_groups import geometric_lrs as geometric_lrs
from ._lr_groups import group_learning_rates as group_learning_rates
from ._lr_groups import layerwise_lr_decay as layerwise_lr_decay
from ._lr_groups import layerwise_lr_multipliers as layerwise_lr_multipliers
from ._partition import PartitionState as PartitionState
from ._partition import freeze as freeze
from ._partition import frozen_paths as frozen_paths
from ._partition import partition as partition
from ._partition import partition_by as partition_by
from ._partition import trainable_mask as trainable_mask
from ._paths import param_labels as param_labels
from ._paths import param_paths as param_paths
from ._recipe import TwoStageResult as TwoStageResult
from ._recipe import feature_extraction as feature_extraction
from ._recipe import fine_tune as fine_tune
from ._recipe import fine_tuning as fine_tuning
from ._recipe import two_stage as two_stage

__all__ = [
    "ExperimentResult",
    "PartitionState",
    "TwoStageResult",
    "discriminative_lrs",
    "feature_extraction",
    "few_labels",
    "fine_tune",
    "fine_tuning",
    "freeze",
    "frozen_paths",
    "geometric_lrs",
    "group_learning_rates",
    "layerwise_lr_decay",
    "layerwise_lr_multipliers",
    "param_labels",
    "param_paths",
    "partition",
    "partition_by",
    "run_experiment",
    "trainable_mask",
    "transfer_loss",
    "two_stage",
]
