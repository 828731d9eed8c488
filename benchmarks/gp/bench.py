#!/usr/bin/env python3
"""nasbo-gp against scikit-learn's GaussianProcessRegressor on identical data.

Generates a synthetic regression problem, writes it as CSVs (header, target last), fits
sklearn's GaussianProcessRegressor (ConstantKernel * Matern(nu=2.5, ARD) + WhiteKernel,
normalize_y=True, the same total number of optimiser starts) and nasbo-gp's `fit_csv`
example, and prints both fit times, prediction times, RMSEs and NLPDs side by side.
It also times a Cholesky factorisation against numpy's LAPACK (`cholesky_time` example).

    python3 benchmarks/gp/bench.py --n 1000 --d 30 --n-test 10000 --restarts 3

Creates benchmarks/gp/.venv with numpy and scikit-learn if they are missing.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VENV = os.path.join(HERE, ".venv")


def ensure_venv():
    try:
        import numpy  # noqa: F401
        import sklearn  # noqa: F401
        return
    except ImportError:
        pass
    py = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(py):
        sys.exit("the venv lacks numpy/scikit-learn and installing them failed")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    subprocess.check_call([py, "-m", "pip", "install", "-q", "numpy", "scikit-learn", "threadpoolctl"])
    os.execv(py, [py] + sys.argv)


def make_data(n, n_test, d, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n + n_test, d))
    # A few strongly relevant inputs, many weak ones: ARD matters.
    w = np.full(d, 0.1)
    w[: min(5, d)] = [2.0, 1.5, 1.2, 1.0, 0.8][: min(5, d)]
    f = np.sin(2.0 * np.pi * x[:, 0]) * w[0] + (x[:, 1:] ** 2 * w[1:]).sum(axis=1)
    if d > 2:
        f += w[2] * np.cos(3.0 * x[:, 2] * x[:, 1])
    y = f + rng.normal(0.0, 0.1, size=n + n_test)
    return x[:n], y[:n], x[n:], y[n:]


def write_csv(path, x, y):
    import numpy as np

    d = x.shape[1]
    header = ",".join([f"x{i}" for i in range(d)] + ["y"])
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="", fmt="%.17g")


def nlpd(y, mean, std):
    import numpy as np

    var = std**2
    return float(np.mean(0.5 * np.log(2 * np.pi * var) + (y - mean) ** 2 / (2 * var)))


def run_sklearn(x, y, xt, yt, restarts, seed):
    import numpy as np
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    d = x.shape[1]
    stats = {"starts": 0, "nit": 0, "nfev": 0}

    def lbfgsb(obj_func, initial_theta, bounds):
        # What sklearn's default optimizer="fmin_l_bfgs_b" does (scipy's L-BFGS-B with its
        # default factr/pgtol), counting iterations and evaluations.
        from scipy.optimize import minimize

        res = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds)
        stats["starts"] += 1
        stats["nit"] += int(res.nit)
        stats["nfev"] += int(res.nfev)
        return res.x, res.fun

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
        length_scale=np.ones(d), length_scale_bounds=(1e-3, 1e3), nu=2.5
    ) + WhiteKernel(1e-2, (1e-6, 1e1))
    gpr = GaussianProcessRegressor(
        kernel=kernel, normalize_y=True, n_restarts_optimizer=restarts - 1, random_state=seed,
        optimizer=lbfgsb,
    )
    c, t = time.process_time(), time.perf_counter()
    gpr.fit(x, y)
    fit_s, fit_cpu = time.perf_counter() - t, time.process_time() - c
    c, t = time.process_time(), time.perf_counter()
    mean, std = gpr.predict(xt, return_std=True)
    predict_s, predict_cpu = time.perf_counter() - t, time.process_time() - c
    return {
        "fit_s": fit_s,
        "predict_s": predict_s,
        "fit_cpu_s": fit_cpu,
        "predict_cpu_s": predict_cpu,
        "rmse": float(np.sqrt(np.mean((mean - yt) ** 2))),
        "nlpd": nlpd(yt, mean, std),
        "log_marginal_likelihood": float(gpr.log_marginal_likelihood_value_),
        "lbfgs_iterations": stats["nit"],
        "lbfgs_evaluations": stats["nfev"],
        "starts": stats["starts"],
    }


def cargo(args):
    env = dict(os.environ)
    return subprocess.run(["cargo"] + args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)


def run_rust(train, test, restarts, seed):
    cargo(["build", "--release", "-q", "-p", "nasbo-gp", "--example", "fit_csv", "--example", "cholesky_time"])
    out = cargo(["run", "--release", "-q", "-p", "nasbo-gp", "--example", "fit_csv", "--",
                 "--train", train, "--test", test, "--restarts", str(restarts), "--seed", str(seed)])
    return json.loads(out.stdout.strip().splitlines()[-1])


def cholesky_numpy(n, reps):
    import numpy as np

    i = np.arange(n, dtype=float)
    r = np.abs(i[:, None] - i[None, :]) / n * 20.0
    a = (1.0 + r) * np.exp(-r) + 1e-3 * np.eye(n)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        np.linalg.cholesky(a)
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ensure_venv()
    import numpy as np
    from threadpoolctl import threadpool_info

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--d", type=int, default=30)
    p.add_argument("--n-test", type=int, default=10000)
    p.add_argument("--restarts", type=int, default=3, help="total optimiser starts (>= 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chol-n", type=int, default=2000)
    p.add_argument("--skip-sklearn", action="store_true")
    a = p.parse_args()

    data = os.path.join(HERE, "data")
    os.makedirs(data, exist_ok=True)
    x, y, xt, yt = make_data(a.n, a.n_test, a.d, a.seed)
    train = os.path.join(data, f"train_n{a.n}_d{a.d}_s{a.seed}.csv")
    test = os.path.join(data, f"test_n{a.n_test}_d{a.d}_s{a.seed}.csv")
    write_csv(train, x, y)
    write_csv(test, xt, yt)
    blas = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} threads={i.get('num_threads')}"
            for i in threadpool_info()]
    print(f"# load average before the run: {os.getloadavg()}")
    print(f"# n={a.n} d={a.d} n_test={a.n_test} restarts={a.restarts} seed={a.seed}; numpy {np.__version__}; {'; '.join(blas)}")

    rust = run_rust(train, test, a.restarts, a.seed)
    print("nasbo-gp :", json.dumps(rust), flush=True)
    sk = None
    if not a.skip_sklearn:
        sk = run_sklearn(x, y, xt, yt, a.restarts, a.seed)
        print("sklearn  :", json.dumps(sk), flush=True)

    out = cargo(["run", "--release", "-q", "-p", "nasbo-gp", "--example", "cholesky_time", "--", str(a.chol_n), "5", "--no-reference"])
    chol_rust = json.loads(out.stdout.strip().splitlines()[-1])["nasbo_gp_s"]
    chol_np = cholesky_numpy(a.chol_n, 5)

    print()
    print(f"{'':24}{'nasbo-gp':>12}{'sklearn':>12}{'ratio':>10}")
    if sk:
        for key in ("fit_s", "predict_s", "fit_cpu_s", "predict_cpu_s"):
            print(f"{key:24}{rust[key]:12.3f}{sk[key]:12.3f}{sk[key] / rust[key]:9.1f}x")
        for key in ("rmse", "nlpd"):
            print(f"{key:24}{rust[key]:12.4f}{sk[key]:12.4f}")
    print(f"{'cholesky n=' + str(a.chol_n) + ' (s)':24}{chol_rust:12.4f}{chol_np:12.4f}{chol_rust / chol_np:9.2f}x (nasbo-gp / numpy)")
    print(json.dumps({"n": a.n, "d": a.d, "n_test": a.n_test, "restarts": a.restarts, "seed": a.seed,
                      "nasbo_gp": rust, "sklearn": sk,
                      "cholesky": {"n": a.chol_n, "nasbo_gp_s": chol_rust, "numpy_s": chol_np}}))


if __name__ == "__main__":
    main()
