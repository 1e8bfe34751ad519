"""scikit-learn estimators backed by a layerkit :class:`~layerkit.Network`.

:class:`LayerkitClassifier` and :class:`LayerkitRegressor` follow scikit-learn's estimator
contract, so they work in ``Pipeline``, ``GridSearchCV`` (also with ``n_jobs``),
``cross_val_score`` and ``clone``, and they bring what ``MLPClassifier`` lacks: dropout, an
activation per layer, early stopping on the validation loss (seed 002's window or Keras's
patience), ``class_weight`` and layerkit's callbacks.

Needs the ``sklearn`` extra: ``pip install "layerkit[sklearn]"``. This module is reached as
``layerkit.sklearn``; ``import layerkit`` does not import scikit-learn.

>>> from layerkit.sklearn import LayerkitClassifier
>>> clf = LayerkitClassifier(hidden_layer_sizes=(32,), epochs=5, random_state=0)

Estimator checks
----------------
Both estimators pass ``sklearn.utils.estimator_checks.parametrize_with_checks`` (run in
``tests/test_sklearn.py`` for float32 and float64 networks), except for the checks that
:func:`expected_failed_checks` lists, each with its reason:

* ``check_sample_weight_equivalence_on_dense_data`` (always): a sample of weight 2 is not
  the same as the sample repeated twice for mini-batch training, which sees the repeated
  row in another batch and takes a different number of steps per epoch (and the shuffled
  order differs), so the fitted networks differ.
* ``check_methods_subset_invariance`` and ``check_methods_sample_order_invariance``
  (``dtype="float32"`` only): BLAS sums a float32 row in another order for another batch
  shape, so the same row predicted in another batch differs by about 1e-7 relative, which
  is the checks' tolerance. With ``dtype="float64"`` both pass.

Outputs (``predict_proba``, a regressor's ``predict``) are float64, scikit-learn's
convention, whatever the network's ``dtype``.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.class_weight import compute_class_weight
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import (
        check_is_fitted,
        check_random_state,
        column_or_1d,
        validate_data,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "layerkit.sklearn needs scikit-learn >= 1.6: pip install 'layerkit[sklearn]'"
    ) from exc

from ._validation import LayerkitTypeError, LayerkitValueError
from .callbacks import StoppingCriterion
from .layers import Dense, Dropout, Input, Layer
from .network import Network

__all__ = ["LayerkitClassifier", "LayerkitRegressor", "expected_failed_checks"]

_WEIGHT_EQUIVALENCE = (
    "mini-batch training: a sample of weight 2 is not the same as the sample repeated "
    "twice, which lands in another batch and changes the number of steps per epoch"
)
_FLOAT32_ROWS = (
    "float32: BLAS sums a row in another order for another batch shape, so a row predicted "
    "in another batch differs by about 1e-7 relative, the check's tolerance"
)


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """``{check name: reason}`` for the scikit-learn estimator checks that ``estimator``
    is expected to fail (see the module docstring).

    Pass it to ``parametrize_with_checks(..., expected_failed_checks=expected_failed_checks)``
    or ``check_estimator(..., expected_failed_checks=expected_failed_checks(est))``.
    """
    failed = {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_EQUIVALENCE}
    if np.dtype(getattr(estimator, "dtype", "float32")) == np.float32:
        failed["check_methods_subset_invariance"] = _FLOAT32_ROWS
        failed["check_methods_sample_order_invariance"] = _FLOAT32_ROWS
    return failed


class _LayerkitEstimator(BaseEstimator):
    """Shared parameters, network building, training and pickling."""

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        dropout: float | Sequence[float] = 0.0,
        layers: Sequence[Layer] | None = None,
        loss: str = "auto",
        optimizer: Any = "adam",
        learning_rate: float | None = None,
        batch_size: int | None = 32,
        epochs: int = 100,
        penalty: float = 0.0,
        early_stopping: int | StoppingCriterion | None = None,
        validation_fraction: float = 0.1,
        shuffle: bool = True,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        dtype: str = "float32",
        callbacks: Sequence[Any] | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.layers = layers
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.penalty = penalty
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.dtype = dtype
        self.callbacks = callbacks

    # ------------------------------------------------------------------ hooks
    def _encode_targets(
        self, y: Any, *, first: bool, classes: Any = None, argument: str = "y"
    ) -> np.ndarray:
        """Targets as ``Network.train`` takes them; ``first`` records their layout."""
        raise NotImplementedError

    def _output_layer(self) -> tuple[Layer, str]:
        raise NotImplementedError

    def _class_weight(self, y: np.ndarray, incremental: bool) -> dict[int, float] | None:
        return None

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: Any,
        y: Any,
        X_val: Any = None,
        y_val: Any = None,
        *,
        sample_weight: Any = None,
    ) -> Any:
        """Train the network for ``epochs`` epochs (a new one unless ``warm_start``).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classifier) or target values (regressor).
        X_val, y_val : array_like, optional
            A validation set, evaluated after every epoch (its costs are in
            ``validation_loss_curve_``); also what ``early_stopping`` watches. Without
            it, ``early_stopping`` holds out ``validation_fraction`` of ``(X, y)``.
        sample_weight : array_like of shape (n_samples,), optional
            Weights of the samples in the data cost (multiplied by ``class_weight``).

        Returns
        -------
        self
        """
        return self._fit(X, y, X_val, y_val, sample_weight, incremental=False)

    def _fit(
        self,
        X: Any,
        y: Any,
        X_val: Any,
        y_val: Any,
        sample_weight: Any,
        *,
        incremental: bool,
        classes: Any = None,
    ) -> Any:
        # X is made C-ordered once here: Network.train gathers each batch's rows with
        # ndarray.take, which copies a whole non-contiguous array (a column slice, a
        # Fortran-ordered frame) for every batch.
        fitted = hasattr(self, "network_")
        reset = not fitted if incremental else not (self.warm_start and fitted)
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            dtype=(np.float64, np.float32),
            order="C",  # see _fit: the training loop gathers rows of C-ordered arrays
            multi_output=True,
            y_numeric=not isinstance(self, ClassifierMixin),
        )
        y = self._encode_targets(y, first=reset, classes=classes)
        if (X_val is None) != (y_val is None):
            raise LayerkitValueError(
                "X_val and y_val go together; received "
                + ("X_val without y_val" if y_val is None else "y_val without X_val")
            )
        if X_val is not None:
            X_val, y_val = validate_data(
                self,
                X_val,
                y_val,
                reset=False,
                dtype=(np.float64, np.float32),
                multi_output=True,
                y_numeric=not isinstance(self, ClassifierMixin),
            )
            y_val = self._encode_targets(y_val, first=False, argument="y_val")
        stopper = None if incremental else _check_early_stopping(self.early_stopping)
        validation_split = None
        if stopper is not None and X_val is None:
            validation_split = self.validation_fraction
        class_weight = self._class_weight(y, incremental)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.ndim == 1 and not np.any(sample_weight > 0):
                raise LayerkitValueError(
                    "sample_weight must have at least one positive weight; received all "
                    "weights zero or negative"
                )
        net = self.network_ if not reset else self._build_network(X.shape[1], y)
        history = net.train(
            X,
            y,
            X_val,
            y_val,
            epochs=1 if incremental else self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            optimizer=_fresh(self.optimizer) if reset else None,
            early_stopping=stopper,
            validation_split=validation_split,
            class_weight=class_weight,
            sample_weight=sample_weight,
            shuffle=self.shuffle,
            verbose=self.verbose,
            callbacks=self.callbacks,
        )
        if reset:
            self.loss_curve_: list[float] = []
            self.validation_loss_curve_: list[float] | None = None
            self.n_iter_ = 0
        self.network_ = net
        self.history_ = history
        self.loss_curve_ = [*self.loss_curve_, *history.train_cost]
        if history.val_cost:
            self.validation_loss_curve_ = [*(self.validation_loss_curve_ or []), *history.val_cost]
        self.n_iter_ += len(history.epochs)
        return self

    def _build_network(self, n_features: int, y: np.ndarray) -> Network:
        output, loss = self._output_layer()
        layers = [Input(n_features), *self._hidden_layers(), output]
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        return Network(layers, loss, penalty=self.penalty, seed=seed, dtype=self.dtype)

    def _hidden_layers(self) -> list[Layer]:
        if self.layers is not None:
            if isinstance(self.layers, Layer) or not isinstance(self.layers, Sequence):
                raise LayerkitTypeError(
                    "layers must be a list of layerkit layers (placed between the input and "
                    f"the output layer); received layers={self.layers!r}"
                )
            for layer in self.layers:
                if not isinstance(layer, Layer) or isinstance(layer, Input):
                    raise LayerkitTypeError(
                        "layers must hold layerkit layers other than Input (the estimator "
                        f"adds the input and the output layer); received {layer!r}"
                    )
            # fresh copies: a layer belongs to one network, and each fit builds a new one
            return [type(layer).from_config(layer.get_config()) for layer in self.layers]
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (sizes,)
        sizes = list(sizes)
        activations = _per_layer(self.activation, len(sizes), "activation", str)
        rates = _per_layer(self.dropout, len(sizes), "dropout", numbers.Real)
        hidden: list[Layer] = []
        for units, activation, rate in zip(sizes, activations, rates, strict=True):
            hidden.append(Dense(units, activation))
            if rate:
                hidden.append(Dropout(rate))
        return hidden

    # ------------------------------------------------------------------ inference
    def _output(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.network_.predict(X).astype(np.float64, copy=False)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")


class LayerkitClassifier(ClassifierMixin, _LayerkitEstimator):
    """A layerkit network as a scikit-learn classifier.

    The network is ``Input(n_features)``, the hidden layers, then a softmax layer with one
    unit per class and categorical cross-entropy (or, for two classes with
    ``loss="auto"``, one sigmoid unit with binary cross-entropy, as ``MLPClassifier``).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (100,)
        Units of each hidden ``Dense`` layer.
    activation : str or sequence of str, default "relu"
        Activation of the hidden layers: one name for all, or one per layer
        (see :func:`layerkit.available_activations`).
    dropout : float or sequence of float, default 0.0
        Dropout rate after each hidden layer (one for all, or one per layer; 0 adds none).
    layers : list of Layer, optional
        The full hidden stack instead of the three parameters above, e.g.
        ``[lk.Dense(64, "elu"), lk.Dropout(0.2), lk.Dense(32, "tanh")]``. Each fit builds
        fresh copies (``from_config(get_config())``), so the list is never modified.
    loss : {"auto", "categorical_crossentropy", "binary_crossentropy"}, default "auto"
        ``"binary_crossentropy"`` needs exactly two classes (one sigmoid unit).
    optimizer : str or Optimizer, default "adam"
        ``"sgd"``, ``"rmsprop"``, ``"adam"`` or an instance such as ``lk.SGD(momentum=0.9)``
        (copied for each fit).
    learning_rate : float, optional
        Default: the optimiser's own (SGD 0.01, RMSProp and Adam 0.001).
    batch_size : int or None, default 32
        ``None`` is full-batch gradient descent.
    epochs : int, default 100
        Epochs per ``fit`` (``partial_fit`` runs one).
    penalty : float, default 0.0
        L2 strength ``lambda``: the objective is ``mean cost + (lambda/2) sum W^2``. (scikit-
        learn's ``alpha`` divides the penalty by the number of samples, layerkit does not:
        ``penalty = alpha / n_samples``.)
    early_stopping : int or StoppingCriterion, optional
        An int ``s`` is seed 002's validation window (:class:`layerkit.ValidationWindow`);
        ``lk.Patience(10)`` is Keras's rule. The weights of the best validation epoch are
        restored at the end.
    validation_fraction : float, default 0.1
        Share of the training data held out (stratified) for ``early_stopping`` when
        ``fit`` gets no ``X_val, y_val``.
    shuffle : bool, default True
        Reshuffle the training samples every epoch.
    random_state : int, RandomState or None, default None
        Seeds the network (initial weights, dropout masks, shuffling, the validation split).
    warm_start : bool, default False
        ``fit`` continues training the fitted network (and its optimiser state) instead of
        building a new one.
    verbose : {0, 1, 2}, default 0
        0 silent, 1 a progress bar, 2 one line per epoch.
    dtype : {"float32", "float64"}, default "float32"
    callbacks : list of Callback, optional
        layerkit callbacks, passed to every :meth:`Network.train` call.
    class_weight : dict, "balanced" or None, default None
        ``{class label: weight}`` multiplied into the sample weights; ``"balanced"`` gives
        ``n_samples / (n_classes * count(class))`` (not with ``partial_fit``).

    Attributes
    ----------
    network_ : Network
        The trained network (save it with ``lk.save``, export it with
        ``layerkit.export.to_onnx``).
    history_ : History
        The history of the last ``fit`` or ``partial_fit`` call.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names (a pandas DataFrame).
    loss_curve_ : list of float
        Training cost per epoch, over every call since the network was built.
    validation_loss_curve_ : list of float or None
        Validation cost per epoch, when there was validation data.
    n_iter_ : int
        Epochs run since the network was built.

    Notes
    -----
    The estimator checks expected to fail, with their reasons, are listed by
    :func:`expected_failed_checks`: ``check_sample_weight_equivalence_on_dense_data`` (a
    sample of weight 2 is not the same as the sample repeated, for mini-batch training) and,
    for float32 networks only, the two row-invariance checks (float32 BLAS rounding).

    Examples
    --------
    >>> import layerkit as lk
    >>> from layerkit.sklearn import LayerkitClassifier
    >>> d = lk.datasets.load_digits()
    >>> clf = LayerkitClassifier((64,), dropout=0.1, epochs=20, random_state=0)
    >>> clf.fit(d.X_train, d.y_train).score(d.X_test, d.y_test) > 0.9
    True
    """

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        dropout: float | Sequence[float] = 0.0,
        layers: Sequence[Layer] | None = None,
        loss: str = "auto",
        optimizer: Any = "adam",
        learning_rate: float | None = None,
        batch_size: int | None = 32,
        epochs: int = 100,
        penalty: float = 0.0,
        early_stopping: int | StoppingCriterion | None = None,
        validation_fraction: float = 0.1,
        shuffle: bool = True,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        dtype: str = "float32",
        callbacks: Sequence[Any] | None = None,
        class_weight: dict[Any, float] | str | None = None,
    ) -> None:
        # scikit-learn reads an estimator's parameters from its own __init__ signature, so
        # the shared ones are repeated here to add class_weight
        super().__init__(
            hidden_layer_sizes,
            activation,
            dropout=dropout,
            layers=layers,
            loss=loss,
            optimizer=optimizer,
            learning_rate=learning_rate,
            batch_size=batch_size,
            epochs=epochs,
            penalty=penalty,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            dtype=dtype,
            callbacks=callbacks,
        )
        self.class_weight = class_weight

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, *, sample_weight: Any = None
    ) -> LayerkitClassifier:
        """Train one epoch on ``(X, y)``, continuing the network if there is one.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
        classes : array_like, optional
            Every class label; required on the first call (``y`` may not show them all).
        sample_weight : array_like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if not hasattr(self, "network_") and classes is None:
            raise LayerkitValueError(
                "classes must be given to the first partial_fit call (every class label, "
                "since one batch of y may not show them all); received classes=None"
            )
        return self._fit(X, y, None, None, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``, columns in ``classes_``
        order."""
        out = self._output(X)
        if out.shape[1] == 1:
            return np.hstack([1.0 - out, out])
        return out

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, from ``classes_``."""
        proba = self.predict_proba(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(proba, axis=1)]

    # ------------------------------------------------------------------ hooks
    def _encode_targets(
        self, y: Any, *, first: bool, classes: Any = None, argument: str = "y"
    ) -> np.ndarray:
        check_classification_targets(y)
        y = column_or_1d(y, warn=True)
        if first:
            found = np.unique(y)
            all_classes = found if classes is None else np.unique(np.asarray(classes))
            if len(all_classes) < 2:
                raise LayerkitValueError(
                    f"a classifier needs at least 2 classes; {argument} has only one class: "
                    f"{all_classes.tolist()!r}"
                )
            self.classes_ = all_classes
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise LayerkitValueError(
                f"{argument} holds labels not in classes_ {self.classes_.tolist()!r}: "
                f"{unknown.tolist()!r}"
            )
        return np.searchsorted(self.classes_, y)

    def _output_layer(self) -> tuple[Layer, str]:
        n_classes = len(self.classes_)
        loss = self.loss
        if loss == "auto":
            loss = "binary_crossentropy" if n_classes == 2 else "categorical_crossentropy"
        if loss == "categorical_crossentropy":
            return Dense(n_classes, "softmax"), loss
        if loss == "binary_crossentropy":
            if n_classes != 2:
                raise LayerkitValueError(
                    f"loss='binary_crossentropy' needs exactly 2 classes (one sigmoid unit); "
                    f"y has {n_classes}: use loss='categorical_crossentropy'"
                )
            return Dense(1, "sigmoid"), loss
        raise LayerkitValueError(
            "loss must be 'auto', 'categorical_crossentropy' or 'binary_crossentropy' for "
            f"LayerkitClassifier; received loss={loss!r}"
        )

    def _class_weight(self, y: np.ndarray, incremental: bool) -> dict[int, float] | None:
        cw = self.class_weight
        if cw is None:
            return None
        if isinstance(cw, str):
            if cw != "balanced":
                raise LayerkitValueError(
                    f"class_weight must be a dict, 'balanced' or None; received {cw!r}"
                )
            if incremental:
                raise LayerkitValueError(
                    "class_weight='balanced' needs the whole training set; it is not "
                    "available with partial_fit (pass a dict of weights instead)"
                )
            present = np.unique(y)
            weights = compute_class_weight("balanced", classes=present, y=y)
            return {int(c): float(w) for c, w in zip(present, weights, strict=True)}
        if not isinstance(cw, dict):
            raise LayerkitTypeError(
                f"class_weight must be a dict, 'balanced' or None; received {cw!r}"
            )
        out = {}
        for label, weight in cw.items():
            index = np.flatnonzero(self.classes_ == label)
            if not index.size:
                raise LayerkitValueError(
                    f"class_weight has a key {label!r} that is not a class; classes_ are "
                    f"{self.classes_.tolist()!r}"
                )
            out[int(index[0])] = float(weight)
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class LayerkitRegressor(RegressorMixin, _LayerkitEstimator):
    """A layerkit network as a scikit-learn regressor.

    The network is ``Input(n_features)``, the hidden layers, then a linear ``Dense`` layer
    with one unit per target and the mean squared error (or ``loss="sum_of_squares"``,
    the documents' ``(1/2) sum (a - y)^2``).

    Parameters
    ----------
    hidden_layer_sizes, activation, dropout, layers, optimizer, learning_rate, batch_size, \
epochs, penalty, early_stopping, validation_fraction, shuffle, random_state, warm_start, \
verbose, dtype, callbacks
        As for :class:`LayerkitClassifier`.
    loss : {"auto", "mse", "sum_of_squares"}, default "auto"
        ``"auto"`` is ``"mse"``.

    Attributes
    ----------
    network_ : Network
    history_ : History
    n_features_in_ : int
    feature_names_in_ : ndarray of str
    loss_curve_ : list of float
    validation_loss_curve_ : list of float or None
    n_iter_ : int

    Notes
    -----
    The estimator checks expected to fail are listed by :func:`expected_failed_checks`.
    Targets are not scaled: scale them (``TransformedTargetRegressor``) when they are far
    from unit size.

    Examples
    --------
    >>> import numpy as np
    >>> from layerkit.sklearn import LayerkitRegressor
    >>> X = np.linspace(-1, 1, 200)[:, None]
    >>> reg = LayerkitRegressor((32,), "tanh", epochs=200, learning_rate=0.01, random_state=0)
    >>> reg.fit(X, X[:, 0] ** 2).score(X, X[:, 0] ** 2) > 0.9
    True
    """

    def partial_fit(self, X: Any, y: Any, *, sample_weight: Any = None) -> LayerkitRegressor:
        """Train one epoch on ``(X, y)``, continuing the network if there is one.

        Returns
        -------
        self
        """
        return self._fit(X, y, None, None, sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape ``(n_samples,)`` when ``y`` was 1-D at fit, else
        ``(n_samples, n_outputs)``."""
        out = self._output(X)
        return out[:, 0] if self._y_1d else out

    def _encode_targets(
        self, y: Any, *, first: bool, classes: Any = None, argument: str = "y"
    ) -> np.ndarray:
        y = np.asarray(y)
        if first:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        y2 = y.reshape(len(y), -1)
        if y2.shape[1] != self.n_outputs_:
            raise LayerkitValueError(
                f"{argument} must have {self.n_outputs_} target column(s) as at the first fit; "
                f"received shape {y.shape}"
            )
        return y2

    def _output_layer(self) -> tuple[Layer, str]:
        loss = "mse" if self.loss == "auto" else self.loss
        if loss not in ("mse", "mean_squared_error", "sum_of_squares", "sse"):
            raise LayerkitValueError(
                "loss must be 'auto', 'mse' or 'sum_of_squares' for LayerkitRegressor; "
                f"received loss={self.loss!r}"
            )
        return Dense(self.n_outputs_, "identity"), loss

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


# ---------------------------------------------------------------------------- helpers
def _per_layer(value: Any, n: int, name: str, kind: type) -> list[Any]:
    """One value per hidden layer from a scalar or a sequence of length ``n``."""
    if isinstance(value, kind) and not isinstance(value, bool):
        return [value] * n
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) != n:
        raise LayerkitValueError(
            f"{name} must be one value or one per hidden layer ({n}); received {name}={value!r}"
        )
    return list(value)


def _check_early_stopping(value: Any) -> Any:
    if value is None or value is False:
        return None
    if isinstance(value, StoppingCriterion):
        return copy.deepcopy(value)  # the estimator's parameter stays untouched
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise LayerkitTypeError(
        "early_stopping must be None, an int window s or a StoppingCriterion such as "
        f"lk.Patience(10); received early_stopping={value!r}"
    )


def _fresh(optimizer: Any) -> Any:
    """The optimiser for a new network: a name as is, an instance copied (state is
    per network)."""
    return (
        optimizer if optimizer is None or isinstance(optimizer, str) else copy.deepcopy(optimizer)
    )
