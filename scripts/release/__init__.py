"""Release tooling: the dependency lock, the deploy plan, the gradual rollout.

Standard library only, so every step of the pipeline (Cloud Build's gcloud image, a GitHub
runner, a laptop) runs it with any Python 3.11 without installing anything first.

- ``lockfile``  requirements.lock: parse it, derive each function's requirements, check drift
- ``config``    deploy/config.toml: environments and functions, validated once
- ``commands``  the gcloud / firebase command lines, built from the config
- ``plan``      the pipeline's phases in order, each a list of commands
- ``traffic``   the Cloud Run traffic interface (gcloud behind it) and its recording twin
- ``signals``   health and error-rate readings from /api/monitoring, with a fallback
- ``rollout``   split, check, advance or roll back
- ``alerting``  deploy/monitoring/ (log-based metrics, alert policies): create or update
"""
