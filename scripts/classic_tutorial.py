#!/usr/bin/env python3
"""Two classic from-scratch NumPy networks, trained in lockstep with libswiftmlp.

Part 1 - Denny Britz, "Implementing a Neural Network from Scratch in Python" (2015):
200 two-moons points (sklearn.datasets.make_moons(200, noise=0.20) after
np.random.seed(0), as in the tutorial), a 2-3-2 network with a tanh hidden layer and a
softmax output, cross-entropy summed over the data set, L2 regularisation
reg_lambda = 0.01 on the weights only, learning rate epsilon = 0.01, full-batch
gradient descent for 20,000 passes. The tutorial's code is re-typed below as it was
published (Python 3 print and range; every change is marked "CHANGED"); only its
initialisation (np.random.randn scaled by 1/sqrt(fan-in)) is replaced by the library's
initial weights, so both start from the same parameters.

The library runs the same model: sizes [2, 3, 2], tanh then softmax, softmax
cross-entropy from labels, SMLP_REDUCTION_SUM, and SGD with learning_rate = epsilon and
weight_decay = reg_lambda on the weights only (decay_biases = 0).

Why weight decay is exactly the tutorial's regularisation, for the gradient: the
tutorial's objective is  data_loss + reg_lambda/2 * (|W1|^2 + |W2|^2), whose gradient
with respect to W is  dW_data + reg_lambda * W  - that is the line `dW2 += reg_lambda *
W2`. SGD with weight decay wd forms  g = dW_data + wd * W  and steps  W -= lr * g. With
wd = reg_lambda, lr = epsilon, and decay off for the biases (the tutorial does not
regularise b1, b2), it is the same update, operation for operation (the sum reduction
matches the tutorial's unnormalised sums delta3 = probs - y, dW = a.T @ delta). What
differs is the reported loss: the tutorial's calculate_loss() returns
    (sum_i CE_i + reg_lambda/2 * (|W1|^2 + |W2|^2)) / num_examples,
including the regularisation term and divided by N, while the library reports the
data loss alone (smlp_gradients: sum_i CE_i under sum reduction; smlp_evaluate: the mean
per-sample loss). The comparison therefore adds reg_lambda/2 * sum |W_l|^2 (from the
library's own weights) to the library's summed data loss and divides by N.

Part 2 - a two-layer sigmoid network trained on mini-batches, in the style of
Michael Nielsen's network.py (quadratic cost 1/2 |a - y|^2, sigmoid everywhere,
gradients summed over the mini-batch - the bias gradient too, db = dZ.sum(axis=0) -
then W -= (eta / m) * dW), vectorised over the batch. The library runs it as MSE with
SMLP_REDUCTION_MEAN and learning_rate = eta: the mean reduction puts the 1/m inside
dZ, so the update is the same (also for the last, smaller batch of each epoch, where a
sum reduction with a fixed lr = eta/m would not be). Same moons data, targets 0/1 in
one sigmoid output, batches of 16 (the last of each epoch has 8) in an order both
sides share, reshuffled each epoch.

Both parts print the loss of both sides every so often and the largest parameter
difference so far, and fail (exit status 1) when they disagree by more than
TOLERANCE = 1e-9 (relative, float64). Rounding alone (BLAS sums in another order than
NumPy's) keeps the runs within ~1e-12 of each other; any difference in the maths
(a missing 1/N, decay on the biases, a learning rate off by the batch size) is of
order 1e-3 or more within the first passes.

Usage:
    python3 scripts/classic_tutorial.py                  # 20,000 passes, 300 epochs
    python3 scripts/classic_tutorial.py --passes 2000 --epochs 40    # shorter (tests)
Needs scikit-learn for make_moons; without it, a NumPy copy of make_moons's recipe
is used (the same shape of data, not the same points) and a note says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy_reference as ref  # noqa: E402
from compare_numpy import LibraryModel, load_library  # noqa: E402

TOLERANCE = 1e-9
#: Part 1's instability is taken to start when the 1-ulp control run has drifted this far
#: (a 1e-16 change grown ten-thousand-fold): well before either run nears TOLERANCE.
ONSET = 1e-12


def make_moons_data():
    """The tutorial's data: np.random.seed(0); make_moons(200, noise=0.20)."""
    np.random.seed(0)
    try:
        import sklearn.datasets
    except ImportError:
        print("note: scikit-learn is not installed; using a NumPy copy of make_moons "
              "(same recipe, different points). pip install scikit-learn for the "
              "tutorial's exact data.")
        n_out, n_in = 100, 100
        angles_out, angles_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
        X = np.vstack([np.append(np.cos(angles_out), 1 - np.cos(angles_in)),
                       np.append(np.sin(angles_out), 1 - np.sin(angles_in) - 0.5)]).T
        y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
        order = np.random.permutation(200)
        X, y = X[order], y[order]
        X += np.random.normal(scale=0.20, size=X.shape)
        return X, y
    return sklearn.datasets.make_moons(200, noise=0.20)


# =====================================================================================
# Part 1: the tutorial's code
# =====================================================================================

X, y = make_moons_data()

num_examples = len(X)  # training set size
nn_input_dim = 2  # input layer dimensionality
nn_output_dim = 2  # output layer dimensionality

# Gradient descent parameters (I picked these by hand)
epsilon = 0.01  # learning rate for gradient descent
reg_lambda = 0.01  # regularization strength


# Helper function to evaluate the total loss on the dataset
def calculate_loss(model):
    W1, b1, W2, b2 = model['W1'], model['b1'], model['W2'], model['b2']
    # Forward propagation to calculate our predictions
    z1 = X.dot(W1) + b1
    a1 = np.tanh(z1)
    z2 = a1.dot(W2) + b2
    exp_scores = np.exp(z2)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    # Calculating the loss
    corect_logprobs = -np.log(probs[range(num_examples), y])
    data_loss = np.sum(corect_logprobs)
    # Add regulatization term to loss (optional)
    data_loss += reg_lambda/2 * (np.sum(np.square(W1)) + np.sum(np.square(W2)))
    return 1./num_examples * data_loss


# Helper function to predict an output (0 or 1)
def predict(model, x):
    W1, b1, W2, b2 = model['W1'], model['b1'], model['W2'], model['b2']
    # Forward propagation
    z1 = x.dot(W1) + b1
    a1 = np.tanh(z1)
    z2 = a1.dot(W2) + b2
    exp_scores = np.exp(z2)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    return np.argmax(probs, axis=1)


# This function learns parameters for the neural network and returns the model.
# - nn_hdim: Number of nodes in the hidden layer
# - num_passes: Number of passes through the training data for gradient descent
# - print_loss: If True, print the loss every 1000 iterations
# CHANGED: `initial` (the shared starting parameters) and `after_pass` (called after
# every update, to step the library in lockstep) are new arguments.
def build_model(nn_hdim, num_passes=20000, print_loss=False, initial=None, after_pass=None):

    # Initialize the parameters to random values. We need to learn these.
    # CHANGED: the tutorial's initialisation,
    #     np.random.seed(0)
    #     W1 = np.random.randn(nn_input_dim, nn_hdim) / np.sqrt(nn_input_dim)
    #     b1 = np.zeros((1, nn_hdim))
    #     W2 = np.random.randn(nn_hdim, nn_output_dim) / np.sqrt(nn_hdim)
    #     b2 = np.zeros((1, nn_output_dim))
    # is replaced by the library's initial parameters (copies, same shapes):
    W1, b1, W2, b2 = (np.array(initial[name], dtype=float) for name in ('W1', 'b1', 'W2', 'b2'))

    # This is what we return at the end
    model = {}

    # Gradient descent. For each batch...
    for i in range(0, num_passes):  # CHANGED: xrange

        # Forward propagation
        z1 = X.dot(W1) + b1
        a1 = np.tanh(z1)
        z2 = a1.dot(W2) + b2
        exp_scores = np.exp(z2)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)

        # Backpropagation
        delta3 = probs
        delta3[range(num_examples), y] -= 1
        dW2 = (a1.T).dot(delta3)
        db2 = np.sum(delta3, axis=0, keepdims=True)
        delta2 = delta3.dot(W2.T) * (1 - np.power(a1, 2))
        dW1 = np.dot(X.T, delta2)
        db1 = np.sum(delta2, axis=0)

        # Add regularization terms (b1 and b2 don't have regularization terms)
        dW2 += reg_lambda * W2
        dW1 += reg_lambda * W1

        # Gradient descent parameter update
        W1 += -epsilon * dW1
        b1 += -epsilon * db1
        W2 += -epsilon * dW2
        b2 += -epsilon * db2

        # Assign new parameters to the model
        model = {'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}

        # Optionally print the loss.
        # This is expensive because it uses the whole dataset, so we don't want to do it too often.
        if print_loss and i % 1000 == 0:
            print("Loss after iteration %i: %f" % (i, calculate_loss(model)))  # CHANGED: print()

        if after_pass is not None:  # CHANGED: the lockstep hook
            after_pass(i, model)

    return model


# =====================================================================================
# Part 1: the library, in lockstep
# =====================================================================================

def model_from_flat(p, sizes):
    """The library's flat vector as the tutorial's dict (b as 1 x n rows)."""
    (W1, b1), (W2, b2) = ref.unpack(p, sizes)
    return {'W1': W1, 'b1': b1.reshape(1, -1), 'W2': W2, 'b2': b2.reshape(1, -1)}


def flat_from_model(model):
    return np.concatenate([model[k].ravel() for k in ('W1', 'b1', 'W2', 'b2')])


def tutorial_trajectory(passes, initial):
    """Every pass's parameters of a tutorial run (passes x 17)."""
    record = np.empty((passes, 17))
    build_model(3, num_passes=passes, initial=initial,
                after_pass=lambda i, model: record.__setitem__(i, flat_from_model(model)))
    return record


def run_britz(passes, every=1000):
    print(f"Part 1: Denny Britz's 2-3-2 tanh/softmax network, {num_examples} moons points, "
          f"{passes} full-batch passes")
    print(f"  library: SGD lr {epsilon}, weight_decay {reg_lambda} (weights only), softmax "
          f"cross-entropy, SUM reduction; both start from the library's seed-0 weights")
    arch = ref.Architecture((2, 3, 2), ("tanh", "softmax"), "softmax_ce", "sum")
    sgd = ref.optimizer_defaults("sgd", learning_rate=epsilon, weight_decay=reg_lambda,
                                 decay_biases=False)
    free = LibraryModel(arch, np.float64, seed=0)      # runs on its own from the start
    synced = LibraryModel(arch, np.float64, seed=0)    # given the tutorial's state each pass
    free.set_optimizer(sgd)
    synced.set_optimizer(sgd)
    labels = y.astype(np.int32)
    initial = model_from_flat(free.params, arch.sizes)

    # The control: the tutorial's own code from the same start but W1[0][0] moved by
    # one ulp. How far it drifts from the unperturbed run is how far ANY two correct
    # implementations (different rounding) can drift.
    perturbed = {name: value.copy() for name, value in initial.items()}
    perturbed['W1'][0, 0] = np.nextafter(perturbed['W1'][0, 0], np.inf)
    control = tutorial_trajectory(passes, perturbed)

    state = {"previous": flat_from_model(initial), "onset": None}
    worst = {"synced": 0.0, "loss": 0.0, "free_before": 0.0, "free": 0.0, "control": 0.0}
    print(f"\n  {'pass':>6s}  {'tutorial loss':>14s}  {'library data':>14s}  {'library + reg':>14s}"
          f"  {'loss diff':>9s}  {'step diff':>9s}  {'free run':>9s}  {'control':>9s}")

    def after_pass(i, model):
        ours = flat_from_model(model)
        # Synchronised: from the tutorial's state before this pass, one library step.
        synced.params = state["previous"]
        synced.step(X, labels=labels)
        worst["synced"] = max(worst["synced"], ref.relative_error(synced.params, ours))
        state["previous"] = ours
        # Free-running, and the control, against the tutorial.
        free.step(X, labels=labels)
        free_diff = ref.relative_error(free.params, ours)
        control_diff = ref.relative_error(control[i], ours)
        if state["onset"] is None and control_diff > ONSET:
            state["onset"] = i
        if state["onset"] is None:
            worst["free_before"] = max(worst["free_before"], free_diff)
        worst["free"] = max(worst["free"], free_diff)
        worst["control"] = max(worst["control"], control_diff)
        if i % every == 0 or i == passes - 1:
            tutorial_loss = calculate_loss(model)
            p = synced.params
            data_sum = synced.loss(X, labels=labels)       # sum_i CE_i: no reg term
            (W1, _), (W2, _) = ref.unpack(p, arch.sizes)
            with_reg = (data_sum + reg_lambda / 2 * (np.sum(W1 ** 2) + np.sum(W2 ** 2))) / num_examples
            loss_diff = ref.relative_error(with_reg, tutorial_loss)
            worst["loss"] = max(worst["loss"], loss_diff)
            print(f"  {i:6d}  {tutorial_loss:14.11f}  {data_sum / num_examples:14.11f}  "
                  f"{with_reg:14.11f}  {loss_diff:9.1e}  {worst['synced']:9.1e}  "
                  f"{free_diff:9.1e}  {control_diff:9.1e}")

    model = build_model(3, num_passes=passes, initial=initial, after_pass=after_pass)
    accuracy_tutorial = np.mean(predict(model, X) == y)
    accuracy_library = np.mean(np.argmax(synced.predict(X), axis=1) == y)
    free.close()
    synced.close()
    onset = state["onset"]
    print(f"""
  library data = the library's loss (smlp_gradients, sum of CE) / N; library + reg adds
  reg_lambda/2 * sum |W_l|^2 before dividing by N, which is what calculate_loss() reports.
  step diff  = largest so far of |library - tutorial| / max|tutorial| over the parameters after
               one library step from the tutorial's own state (the two update rules compared);
  free run   = the library trained on its own from the start, vs the tutorial, at that pass;
  control    = the tutorial's code itself with W1[0][0] moved by one ulp, vs the tutorial.
  training accuracy: tutorial {accuracy_tutorial:.3f}, library {accuracy_library:.3f}""")
    if onset is not None:
        print(f"""
  From pass {onset} on (where the control has drifted past {ONSET:.0e}), the tutorial's gradient
  descent is unstable: epsilon = 0.01 on a loss
  summed over {num_examples} points is too large a step for the sharpest direction, and the
  iterates settle into a period-2 oscillation (consecutive passes alternate between two states;
  the loss printed every 1000 passes sees only one of them). There, rounding differences of
  1e-16 grow until they saturate: the tutorial's own code moves up to {worst['control']:.1e} away from
  itself after a 1-ulp change, and the free-running library up to {worst['free']:.1e} away (a run can
  land on either phase of the oscillation; one on the other phase stays a whole oscillation
  amplitude away, one on the same phase converges back). So the free-running
  comparison is asserted only before pass {onset} (largest difference {worst['free_before']:.1e});
  the synchronised step comparison holds for every pass ({worst['synced']:.1e}).""")
    else:
        print(f"\n  the run stayed stable: free-running difference {worst['free']:.1e}")
    print(f"\n  asserted (tolerance {TOLERANCE:.0e}): step diff {worst['synced']:.1e}, loss diff "
          f"{worst['loss']:.1e}, free run before the onset {worst['free_before']:.1e}")
    return (worst["synced"] <= TOLERANCE and worst["loss"] <= TOLERANCE
            and worst["free_before"] <= TOLERANCE and accuracy_tutorial == accuracy_library)


# =====================================================================================
# Part 2: a two-layer sigmoid network on mini-batches (network.py style, vectorised)
# =====================================================================================

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def update_mini_batch(W1, b1, W2, b2, Xb, Yb, eta):
    """One mini-batch, gradients summed over it (bias gradients too), then
    W -= (eta/m) dW. Xb: m x 2, Yb: m x 1."""
    m = Xb.shape[0]
    z1 = Xb @ W1 + b1
    a1 = sigmoid(z1)                          # m x 5
    z2 = a1 @ W2 + b2
    a2 = sigmoid(z2)                          # m x 1
    delta2 = (a2 - Yb) * a2 * (1 - a2)        # quadratic cost: (a - y) sigma'(z)
    nabla_W2 = a1.T @ delta2                  # sums over the batch
    nabla_b2 = delta2.sum(axis=0)             # ... and so does the bias gradient
    delta1 = (delta2 @ W2.T) * a1 * (1 - a1)
    nabla_W1 = Xb.T @ delta1
    nabla_b1 = delta1.sum(axis=0)
    W1 -= (eta / m) * nabla_W1
    b1 -= (eta / m) * nabla_b1
    W2 -= (eta / m) * nabla_W2
    b2 -= (eta / m) * nabla_b2


def quadratic_cost(W1, b1, W2, b2, Xs, Ys):
    """Mean over the samples of 1/2 |a - y|^2."""
    a2 = sigmoid(sigmoid(Xs @ W1 + b1) @ W2 + b2)
    return 0.5 * np.sum((a2 - Ys) ** 2) / len(Xs)


def run_minibatch(epochs, eta=2.0, batch=16, every=50):
    print(f"\nPart 2: 2-5-1 sigmoid network, quadratic cost, mini-batches of {batch} "
          f"(the last of each epoch has {num_examples % batch or batch}), eta {eta}, "
          f"{epochs} epochs")
    print(f"  library: MSE (1/2), MEAN reduction, SGD lr {eta}: the 1/m in dZ is the "
          f"tutorial's eta/m\n")
    arch = ref.Architecture((2, 5, 1), ("sigmoid", "sigmoid"), "mse", "mean")
    library = LibraryModel(arch, np.float64, seed=1)
    library.set_optimizer(ref.optimizer_defaults("sgd", learning_rate=eta))
    Y = y.reshape(-1, 1).astype(np.float64)
    (W1, b1), (W2, b2) = (tuple(np.array(a) for a in layer)
                          for layer in ref.unpack(library.params, arch.sizes))
    rng = np.random.default_rng(1)
    worst = {"param": 0.0, "loss": 0.0}
    print(f"  {'epoch':>6s}  {'tutorial loss':>15s}  {'library loss':>15s}  {'loss rel diff':>13s}"
          f"  {'max param rel diff':>18s}")
    for epoch in range(1, epochs + 1):
        order = rng.permutation(num_examples)
        for start in range(0, num_examples, batch):
            rows = order[start:start + batch]
            update_mini_batch(W1, b1, W2, b2, X[rows], Y[rows], eta)
            library.step(X[rows], Y[rows])
            ours = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])
            worst["param"] = max(worst["param"], ref.relative_error(library.params, ours))
        if epoch % every == 0 or epoch == epochs or epoch == 1:
            tutorial_loss = quadratic_cost(W1, b1, W2, b2, X, Y)
            library_loss, _ = library.evaluate(X, Y)
            diff = ref.relative_error(library_loss, tutorial_loss)
            worst["loss"] = max(worst["loss"], diff)
            print(f"  {epoch:6d}  {tutorial_loss:15.12f}  {library_loss:15.12f}  {diff:13.1e}  "
                  f"{worst['param']:18.1e}")
    library.close()
    print(f"\n  largest relative difference: parameters {worst['param']:.1e}, "
          f"loss {worst['loss']:.1e} (tolerance {TOLERANCE:.0e})")
    return worst["param"] <= TOLERANCE and worst["loss"] <= TOLERANCE


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=20000, help="part 1 passes (20000)")
    parser.add_argument("--epochs", type=int, default=300, help="part 2 epochs (300)")
    args = parser.parse_args(argv)
    try:
        load_library()
    except (OSError, FileNotFoundError) as error:
        print(f"classic_tutorial.py: cannot load libswiftmlp: {error}", file=sys.stderr)
        return 2
    ok1 = run_britz(args.passes)
    ok2 = run_minibatch(args.epochs)
    print("\n" + ("both parts agree with the library" if ok1 and ok2 else
                  "DISAGREEMENT with the library (see above)"))
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    sys.exit(main())
