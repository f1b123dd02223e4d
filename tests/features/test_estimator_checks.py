"""Our transformers honour scikit-learn's estimator contract."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from screening.features import AdditiveBasis, FormEncoder


@parametrize_with_checks([
    FormEncoder(),
    FormEncoder(min_frequency=1),
    AdditiveBasis(),
    AdditiveBasis(categorical_features=[0], interactions=[(0, 1)], n_knots=3),
])
def test_sklearn_contract(estimator, check):
    check(estimator)
