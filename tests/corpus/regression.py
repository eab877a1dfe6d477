"""Regression models of the corpus: GLMs, robust, ordinal, counts, survival, measurement error."""

from __future__ import annotations

import numpy as np
import pymc as pm

from tests.corpus.data import german_credit as german_credit_data
from tests.corpus.data import rng, standardize, statsmodels_data


def robust_regression() -> pm.Model:
    """Robust linear regression with a Student-t likelihood on Brownlee's stack loss data.

    Source: PyMC example gallery "GLM: Robust Linear Regression"; data: Brownlee (1965), the
    ``stackloss`` dataset shipped by statsmodels (21 observations, 3 covariates, standardised).
    """
    df = statsmodels_data("stackloss")
    x = standardize(df[["AIRFLOW", "WATERTEMP", "ACIDCONC"]].to_numpy())
    with pm.Model() as model:
        intercept = pm.Normal("intercept", 17.0, 10.0)
        beta = pm.Normal("beta", 0.0, 10.0, shape=3)
        sigma = pm.HalfNormal("sigma", 5.0)
        nu = pm.Gamma("nu", 2.0, 0.1)
        pm.StudentT("y", nu=nu, mu=intercept + x @ beta, sigma=sigma, observed=df["STACKLOSS"])
    return model


def negative_binomial_counts() -> pm.Model:
    """Negative-binomial regression of bills assigned to House committees.

    Source: PyMC example gallery "GLM: Negative Binomial Regression" (model structure); data:
    the ``committee`` dataset shipped by statsmodels (King 1988; 20 committees), count of bills in
    the 104th congress on the log of committee size, subcommittees, staff, prestige and log bills
    of the 103rd congress, standardised.
    """
    df = statsmodels_data("committee")
    cols = np.column_stack(
        [
            np.log(df["SIZE"]),
            df["SUBS"],
            np.log(df["STAFF"]),
            df["PRESTIGE"],
            np.log1p(df["BILLS103"]),
        ]
    )
    x = standardize(cols)
    with pm.Model() as model:
        intercept = pm.Normal("intercept", 3.0, 2.0)
        beta = pm.Normal("beta", 0.0, 1.0, shape=x.shape[1])
        alpha = pm.Exponential("alpha", 0.5)
        pm.NegativeBinomial(
            "bills", mu=pm.math.exp(intercept + x @ beta), alpha=alpha, observed=df["BILLS104"]
        )
    return model


def zero_inflated_poisson() -> pm.Model:
    """Zero-inflated Poisson regression (fish caught by park visitors).

    Source: PyMC example gallery / UCLA "Zero-inflated Poisson regression" (fish data structure:
    a share of groups that did not fish, counts rising with a covariate). Data simulated with a
    fixed seed following that structure: 150 groups.
    """
    g = rng(250)
    n = 150
    x = g.normal(size=n)
    fished = g.random(n) < 0.6
    y = np.where(fished, g.poisson(np.exp(0.5 + 0.7 * x)), 0)
    with pm.Model() as model:
        psi = pm.Beta("psi", 1.0, 1.0)
        intercept = pm.Normal("intercept", 0.0, 2.0)
        beta = pm.Normal("beta", 0.0, 1.0)
        pm.ZeroInflatedPoisson("y", psi=psi, mu=pm.math.exp(intercept + beta * x), observed=y)
    return model


def ordinal_regression() -> pm.Model:
    """Ordered-logistic regression of party identification (7 categories), ordered cutpoints.

    Source: PyMC example gallery "Regression Models with Ordered Categorical Outcomes"; Stan
    User's Guide, "Ordered logistic and probit regression". Data: the 1996 American National
    Election Study (``anes96``, shipped by statsmodels), first 300 respondents; covariates
    self-placement, age, education and income, standardised.
    """
    df = statsmodels_data("anes96").iloc[:300]
    x = standardize(df[["selfLR", "age", "educ", "income"]].to_numpy())
    y = df["PID"].to_numpy().astype(int)
    with pm.Model() as model:
        beta = pm.Normal("beta", 0.0, 1.0, shape=4)
        cutpoints = pm.Normal(
            "cutpoints",
            mu=np.linspace(-2.0, 2.0, 6),
            sigma=3.0,
            transform=pm.distributions.transforms.ordered,
        )
        pm.OrderedLogistic("pid", eta=x @ beta, cutpoints=cutpoints, observed=y)
    return model


def poisson_glm() -> pm.Model:
    """Poisson regression of US state executions in 1996.

    Source: the statsmodels GLM documentation example (Poisson family) on the ``cpunish`` dataset
    shipped by statsmodels (17 states); covariates standardised, Normal priors.
    """
    df = statsmodels_data("cpunish")
    cols = df[["INCOME", "PERPOVERTY", "PERBLACK", "VC100k96", "SOUTH", "DEGREE"]].to_numpy(
        copy=True
    )
    cols[:, 3] = np.log(cols[:, 3])
    x = standardize(cols)
    with pm.Model() as model:
        intercept = pm.Normal("intercept", 0.0, 2.0)
        beta = pm.Normal("beta", 0.0, 1.0, shape=6)
        pm.Poisson("executions", mu=pm.math.exp(intercept + x @ beta), observed=df["EXECUTIONS"])
    return model


def beta_regression() -> pm.Model:
    """Beta regression of the share of students above the national maths median.

    Source: Ferrari & Cribari-Neto (2004), "Beta regression for modelling rates and proportions",
    J. Appl. Stat. 31(7) (mean-precision parametrisation); data: ``star98`` shipped by statsmodels,
    first 100 California school districts, share NABOVE / (NABOVE + NBELOW) on the standardised
    low-income and minority percentages.
    """
    df = statsmodels_data("star98").iloc[:100]
    share = (df["NABOVE"] / (df["NABOVE"] + df["NBELOW"])).to_numpy()
    x = standardize(df[["LOWINC", "PERMINTE"]].to_numpy())
    with pm.Model() as model:
        intercept = pm.Normal("intercept", 0.0, 2.0)
        beta = pm.Normal("beta", 0.0, 1.0, shape=2)
        phi = pm.Gamma("phi", 2.0, 0.05)
        mu = pm.math.invlogit(intercept + x @ beta)
        pm.Beta("share", alpha=mu * phi, beta=(1.0 - mu) * phi, observed=share)
    return model


def weibull_survival() -> pm.Model:
    """Weibull regression of strike durations on industrial production.

    Source: Kennan (1985), "The duration of contract strikes in U.S. manufacturing", J.
    Econometrics 28; data ``strikes`` shipped by statsmodels (62 strikes, all completed, so no
    censoring); PyMC example gallery "Bayesian Parametric Survival Analysis" (Weibull structure).
    """
    df = statsmodels_data("strikes")
    x = standardize(df["iprod"].to_numpy())
    with pm.Model() as model:
        alpha = pm.Gamma("alpha", 2.0, 1.0)
        intercept = pm.Normal("intercept", 3.0, 2.0)
        beta = pm.Normal("beta", 0.0, 1.0)
        pm.Weibull("duration", alpha=alpha, beta=pm.math.exp(intercept + beta * x),
                   observed=df["duration"])  # fmt: skip
    return model


def censored_weibull_survival() -> pm.Model:
    """Weibull survival with right censoring: Stanford heart-transplant patients.

    Source: PyMC example gallery "Censored Data Models" and "Bayesian Parametric Survival
    Analysis"; data ``heart`` shipped by statsmodels (Crowley & Hu 1977; 69 patients, censoring
    indicator, age standardised). Survival in days / 100.
    """
    df = statsmodels_data("heart")
    t = df["survival"].to_numpy() / 100.0
    upper = np.where(df["censors"].to_numpy() == 1, np.inf, t)
    x = standardize(df["age"].to_numpy())
    with pm.Model() as model:
        alpha = pm.Gamma("alpha", 2.0, 2.0)
        intercept = pm.Normal("intercept", 1.0, 2.0)
        beta = pm.Normal("beta", 0.0, 1.0)
        dist = pm.Weibull.dist(alpha=alpha, beta=pm.math.exp(intercept + beta * x))
        pm.Censored("survival", dist, lower=None, upper=upper, observed=t)
    return model


def logistic_regression_spector() -> pm.Model:
    """Logistic regression of grade improvement on GPA, TUCE score and a teaching method.

    Source: Spector & Mazzeo (1980); the statsmodels ``Logit`` documentation example on the
    ``spector`` dataset (32 students, shipped by statsmodels); covariates standardised.
    """
    df = statsmodels_data("spector")
    x = standardize(df[["GPA", "TUCE", "PSI"]].to_numpy())
    with pm.Model() as model:
        intercept = pm.Normal("intercept", 0.0, 2.5)
        beta = pm.Normal("beta", 0.0, 2.5, shape=3)
        pm.Bernoulli("grade", logit_p=intercept + x @ beta, observed=df["GRADE"].astype(int))
    return model


def german_credit() -> pm.Model:
    """Bayesian logistic regression on German credit (25 coefficients, 1000 rows).

    Source: Girolami & Calderhead (2011), "Riemann manifold Langevin and Hamiltonian Monte Carlo
    methods", JRSS-B 73(2), section 7 (prior N(0, 100 I)); data: UCI Statlog German credit.
    """
    x, y = german_credit_data()
    with pm.Model() as model:
        w = pm.Normal("w", 0.0, 10.0, shape=x.shape[1])
        pm.Bernoulli("y", logit_p=x @ w, observed=y)
    return model


def half_student_t_regression() -> pm.Model:
    """Linear regression with a half-Student-t prior on the noise scale.

    Source: Gelman (2006), Bayesian Analysis 1(3) (half-t priors for scales); data: the Scottish
    parliament vote (``scotland``, shipped by statsmodels, 32 council areas), YES share on
    standardised council tax, female unemployment and standardised mortality.
    """
    df = statsmodels_data("scotland")
    x = standardize(df[["COUTAX", "UNEMPF", "MOR"]].to_numpy())
    with pm.Model() as model:
        intercept = pm.Normal("intercept", 60.0, 20.0)
        beta = pm.Normal("beta", 0.0, 10.0, shape=3)
        sigma = pm.HalfStudentT("sigma", nu=3.0, sigma=5.0)
        pm.Normal("yes", intercept + x @ beta, sigma, observed=df["YES"])
    return model


def bayesian_lasso() -> pm.Model:
    """Bayesian lasso (Laplace priors on coefficients) on Longley's collinear macro data.

    Source: Park & Casella (2008), "The Bayesian Lasso", JASA 103(482); data: Longley (1967),
    ``longley`` shipped by statsmodels (16 years, 6 strongly collinear covariates, standardised;
    response standardised).
    """
    df = statsmodels_data("longley")
    x = standardize(df.drop(columns="TOTEMP").to_numpy())
    y = standardize(df["TOTEMP"].to_numpy())
    with pm.Model() as model:
        beta = pm.Laplace("beta", 0.0, 0.5, shape=x.shape[1])
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("employment", x @ beta, sigma, observed=y)
    return model


def exgaussian_reaction_times() -> pm.Model:
    """Ex-Gaussian model of response times.

    Source: Heathcote, Popiel & Mewhort (1991), Psychological Bulletin 109(2); the ex-Gaussian is
    PyMC's ``ExGaussian``. Data: 120 response times (seconds) simulated with a fixed seed from an
    ex-Gaussian with mu = 0.45, sigma = 0.05, nu = 0.2.
    """
    g = rng(1991)
    t = g.normal(0.45, 0.05, size=120) + g.exponential(0.2, size=120)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.5, 0.5)
        sigma = pm.HalfNormal("sigma", 0.2)
        nu = pm.HalfNormal("nu", 0.5)
        pm.ExGaussian("rt", mu=mu, sigma=sigma, nu=nu, observed=t)
    return model


def measurement_error() -> pm.Model:
    """Linear regression with a covariate measured with known error (errors-in-variables).

    Source: Stan User's Guide, "Measurement Error and Meta-Analysis" (Bayesian measurement error
    model, a latent true covariate with a normal prior). Data: 40 points simulated with a fixed
    seed following that structure (known measurement sd 0.3, true slope 1.5, noise sd 0.8).
    """
    g = rng(40)
    n = 40
    x_true = g.normal(0.0, 1.0, size=n)
    x_obs = x_true + g.normal(0.0, 0.3, size=n)
    y = 0.5 + 1.5 * x_true + g.normal(0.0, 0.8, size=n)
    with pm.Model() as model:
        mu_x = pm.Normal("mu_x", 0.0, 5.0)
        sigma_x = pm.HalfNormal("sigma_x", 2.0)
        x = pm.Normal("x", mu_x, sigma_x, shape=n)
        pm.Normal("x_obs", x, 0.3, observed=x_obs)
        alpha = pm.Normal("alpha", 0.0, 5.0)
        beta = pm.Normal("beta", 0.0, 5.0)
        sigma = pm.HalfNormal("sigma", 2.0)
        pm.Normal("y", alpha + beta * x, sigma, observed=y)
    return model


def ordered_proportions() -> pm.Model:
    """Two binomial proportions known to be ordered, with a parameter-dependent uniform bound.

    Source: Stan User's Guide, "Vectors with varying bounds" / "Parameters with varying upper and
    lower bounds" (``p_high ~ uniform(p_low, 1)``, an order-restricted pair of proportions).
    Counts typed in: 12 of 50 and 19 of 50.
    """
    with pm.Model() as model:
        p_low = pm.Uniform("p_low", 0.0, 1.0)
        p_high = pm.Uniform("p_high", p_low, 1.0)
        pm.Binomial("y", n=np.array([50, 50]), p=pm.math.stack([p_low, p_high]),
                    observed=np.array([12, 19]))  # fmt: skip
    return model


def weibull_aft_potential() -> pm.Model:
    """Weibull accelerated-failure-time model on the log scale, censored terms as a Potential.

    Source: PyMC example gallery "Bayesian Parametric Survival Analysis" (Weibull AFT: standardised
    log survival times are Gumbel; censored patients enter through ``pm.Potential`` with the log
    Gumbel survival function); data: ``heart`` shipped by statsmodels (69 patients).
    """
    df = statsmodels_data("heart")
    y = standardize(np.log(df["survival"].to_numpy()))
    censored = df["censors"].to_numpy() == 0
    x = standardize(df["age"].to_numpy())
    with pm.Model() as model:
        intercept = pm.Normal("intercept", 0.0, 2.0)
        beta = pm.Normal("beta", 0.0, 1.0)
        s = pm.HalfNormal("s", 2.0)
        eta = intercept + beta * x
        pm.Gumbel("y_obs", mu=eta[~censored], beta=s, observed=y[~censored])
        z = (y[censored] - eta[censored]) / s
        # log P(Y > y) of the Gumbel: log(1 − exp(−exp(−z)))
        pm.Potential("y_censored", pm.math.log(-pm.math.expm1(-pm.math.exp(-z))))
    return model
