import numpy as np
from sklearn import metrics as skm

from metalearn_core.models.evaluation import confusion_matrix, evaluate_probabilities, per_class_scores


def test_confusion_and_scores_match_scikit_learn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 500)
    y_pred = np.where(rng.random(500) < 0.7, y_true, rng.integers(0, 10, 500))
    confusion = confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(confusion, skm.confusion_matrix(y_true, y_pred, labels=range(10)))
    precision, recall, f1, support = skm.precision_recall_fscore_support(y_true, y_pred, labels=range(10),
                                                                        zero_division=0)
    scores = per_class_scores(confusion)
    np.testing.assert_allclose([s["precision"] for s in scores], precision)
    np.testing.assert_allclose([s["recall"] for s in scores], recall)
    np.testing.assert_allclose([s["f1"] for s in scores], f1)
    assert [s["support"] for s in scores] == support.tolist()


def test_evaluation_of_probabilities():
    y_true = np.array([0, 1, 2, 2])
    probabilities = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]])
    result = evaluate_probabilities(probabilities, y_true)
    assert result.accuracy == 0.75
    assert result.misclassified == [2]
    assert result.predictions == [0, 1, 0, 2]
    np.testing.assert_allclose(result.loss, skm.log_loss(y_true, probabilities))
    assert per_class_scores(np.zeros((3, 3), int))[0]["f1"] == 0.0
