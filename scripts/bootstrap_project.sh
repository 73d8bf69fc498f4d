#!/usr/bin/env bash
# One-time set-up of a Google Cloud project for PMI: APIs, the Firestore database, one
# service account per function with only its roles (deploy/config.toml), the deployer and
# build accounts, the secrets, and Workload Identity Federation for GitHub Actions.
# Idempotent: everything is looked up before it is created, and IAM bindings are added
# (adding an existing binding changes nothing), so running it again is safe.
#
#   scripts/bootstrap_project.sh --env staging --github-repo OWNER/REPO [--project ID] [--dry-run]
#
# --dry-run prints every command instead of running it (no credentials needed); it assumes
# nothing exists yet, so it shows the full set-up. Needs gcloud (and python3 to read the
# config). docs/deployment.md walks through it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENVIRONMENT=""
PROJECT=""
GITHUB_REPO=""
DRY_RUN=0
SECRET="pmi-jwt-signing-key"
ROLLOUT_SECRET="pmi-rollout-password"
POOL="github"
PROVIDER="github"

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) ENVIRONMENT="$2"; shift 2 ;;
    --project) PROJECT="$2"; shift 2 ;;
    --github-repo) GITHUB_REPO="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
[[ "$ENVIRONMENT" == "staging" || "$ENVIRONMENT" == "production" ]] || {
  echo "--env staging|production is required" >&2; exit 2; }
[[ "$GITHUB_REPO" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || {
  echo "--github-repo OWNER/REPO is required (only its workflows may deploy)" >&2; exit 2; }

# Project, region and site come from deploy/config.toml unless overridden.
read -r CONFIG_PROJECT REGION SITE_URL < <(python3 - "$ROOT" "$ENVIRONMENT" <<'PY'
import sys, tomllib
config = tomllib.loads(open(f"{sys.argv[1]}/deploy/config.toml").read())
env = config["environments"][sys.argv[2]]
print(env["project"], env["region"], env["site_url"])
PY
)
PROJECT="${PROJECT:-$CONFIG_PROJECT}"
# function<TAB>account<TAB>role<TAB>scope, one line per binding, from the same config
ROLES="$(python3 "$ROOT/scripts/deploy_plan.py" --env "$ENVIRONMENT" --accounts)"
FUNCTIONS="$(cut -f1 <<<"$ROLES" | uniq)"
DEPLOYER="pmi-deployer@${PROJECT}.iam.gserviceaccount.com"
BUILDER="pmi-builder@${PROJECT}.iam.gserviceaccount.com"

step() { printf '\n==> %s\n' "$*"; }

show() { # prefix, command...: the command as a shell would read it back
  local prefix="$1"; shift
  printf '%s' "$prefix"; printf ' %q' "$@"; printf '\n'
}

# Runs a command, or prints it under --dry-run.
run() {
  if [[ $DRY_RUN -eq 1 ]]; then show "+" "$@"; else "$@"; fi
}

# The same for IAM bindings, whose success output (the whole policy) is noise.
run_quiet() {
  if [[ $DRY_RUN -eq 1 ]]; then show "+" "$@"; else "$@" >/dev/null; fi
}

# True when the resource exists; under --dry-run prints the look-up and answers "no".
exists() {
  if [[ $DRY_RUN -eq 1 ]]; then
    show "?" "$@"
    return 1
  fi
  "$@" >/dev/null 2>&1
}

account_of() { echo "pmi-$1@${PROJECT}.iam.gserviceaccount.com"; }

ensure_account() { # name, display name
  local email="$1@${PROJECT}.iam.gserviceaccount.com"
  if exists gcloud iam service-accounts describe "$email" --project="$PROJECT"; then
    echo "service account $email exists"
  else
    run gcloud iam service-accounts create "$1" --display-name="$2" --project="$PROJECT"
  fi
}

ensure_secret() { # name
  if exists gcloud secrets describe "$1" --project="$PROJECT"; then
    echo "secret $1 exists (rotate with: gcloud secrets versions add $1 --data-file=-)"
    return
  fi
  run gcloud secrets create "$1" --replication-policy=automatic --project="$PROJECT"
  if [[ $DRY_RUN -eq 1 ]]; then
    echo "+ python3 -c 'import secrets; print(secrets.token_hex(32))' | gcloud secrets versions add $1 --data-file=- --project=$PROJECT"
  else
    python3 -c 'import secrets; print(secrets.token_hex(32), end="")' \
      | gcloud secrets versions add "$1" --data-file=- --project="$PROJECT"
  fi
}

bind_project() { # member, role
  run_quiet gcloud projects add-iam-policy-binding "$PROJECT" --member="$1" --role="$2" \
    --condition=None --quiet
}

step "APIs ($PROJECT)"
run gcloud services enable \
  cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com \
  artifactregistry.googleapis.com secretmanager.googleapis.com firestore.googleapis.com \
  iam.googleapis.com iamcredentials.googleapis.com sts.googleapis.com \
  firebase.googleapis.com firebasehosting.googleapis.com firebaserules.googleapis.com \
  logging.googleapis.com identitytoolkit.googleapis.com --project="$PROJECT"

step "Firestore database ($REGION)"
if exists gcloud firestore databases describe --database='(default)' --project="$PROJECT"; then
  echo "Firestore (default) exists"
else
  run gcloud firestore databases create --database='(default)' --location="$REGION" \
    --type=firestore-native --project="$PROJECT"
fi

step "Secrets"
ensure_secret "$SECRET"
ensure_secret "$ROLLOUT_SECRET"

step "Service accounts: one per function, the deployer, the function builder"
for name in $FUNCTIONS; do
  ensure_account "pmi-$name" "PMI $name function"
done
ensure_account pmi-deployer "PMI release pipeline"
ensure_account pmi-builder "PMI function builds"

step "Function roles (deploy/config.toml)"
while IFS=$'\t' read -r name _ role scope; do
  member="serviceAccount:$(account_of "$name")"
  case "$scope" in
    project) bind_project "$member" "$role" ;;
    secret)
      run_quiet gcloud secrets add-iam-policy-binding "$SECRET" --member="$member" --role="$role" \
        --project="$PROJECT" --quiet ;;
    self)
      # Token Creator on itself: signBlob for Firebase custom tokens, nothing more.
      run_quiet gcloud iam service-accounts add-iam-policy-binding "$(account_of "$name")" \
        --member="$member" --role="$role" --project="$PROJECT" --quiet ;;
    *) echo "unknown scope $scope for $name" >&2; exit 1 ;;
  esac
done <<<"$ROLES"

step "Deployer roles (Cloud Build and GitHub Actions run as $DEPLOYER)"
for role in roles/cloudfunctions.developer roles/run.admin roles/firebasehosting.admin \
  roles/firebaserules.admin roles/datastore.indexAdmin roles/datastore.user \
  roles/serviceusage.serviceUsageConsumer roles/logging.logWriter; do
  bind_project "serviceAccount:$DEPLOYER" "$role"
done
run_quiet gcloud secrets add-iam-policy-binding "$ROLLOUT_SECRET" --member="serviceAccount:$DEPLOYER" \
  --role=roles/secretmanager.secretAccessor --project="$PROJECT" --quiet
# actAs: the deployer may deploy functions that run as these accounts, and nothing else.
for account in $(for name in $FUNCTIONS; do account_of "$name"; done) "$BUILDER"; do
  run_quiet gcloud iam service-accounts add-iam-policy-binding "$account" \
    --member="serviceAccount:$DEPLOYER" --role=roles/iam.serviceAccountUser \
    --project="$PROJECT" --quiet
done

step "Builder roles (builds the function images)"
for role in roles/cloudbuild.builds.builder roles/logging.logWriter \
  roles/artifactregistry.writer roles/storage.objectViewer; do
  bind_project "serviceAccount:$BUILDER" "$role"
done

step "Workload Identity Federation for $GITHUB_REPO (no key files)"
if [[ $DRY_RUN -eq 1 ]]; then
  PROJECT_NUMBER="PROJECT_NUMBER"
  show "+" gcloud projects describe "$PROJECT" --format='value(projectNumber)'
else
  PROJECT_NUMBER="$(gcloud projects describe "$PROJECT" --format='value(projectNumber)')"
fi
if exists gcloud iam workload-identity-pools describe "$POOL" --location=global --project="$PROJECT"; then
  echo "pool $POOL exists"
else
  run gcloud iam workload-identity-pools create "$POOL" --location=global \
    --display-name="GitHub Actions" --project="$PROJECT"
fi
if exists gcloud iam workload-identity-pools providers describe "$PROVIDER" \
  --workload-identity-pool="$POOL" --location=global --project="$PROJECT"; then
  echo "provider $PROVIDER exists"
else
  run gcloud iam workload-identity-pools providers create-oidc "$PROVIDER" \
    --workload-identity-pool="$POOL" --location=global \
    --issuer-uri="https://token.actions.githubusercontent.com" \
    --attribute-mapping="google.subject=assertion.sub,attribute.repository=assertion.repository,attribute.environment=assertion.environment" \
    --attribute-condition="assertion.repository == '$GITHUB_REPO'" --project="$PROJECT"
fi
# Only jobs of this repository running in this GitHub environment may act as the deployer.
POOL_ID="projects/$PROJECT_NUMBER/locations/global/workloadIdentityPools/$POOL"
run_quiet gcloud iam service-accounts add-iam-policy-binding "$DEPLOYER" \
  --role=roles/iam.workloadIdentityUser \
  --member="principalSet://iam.googleapis.com/$POOL_ID/attribute.environment/$ENVIRONMENT" \
  --project="$PROJECT" --quiet

step "Done. GitHub → Settings → Environments → $ENVIRONMENT → variables:"
echo "GCP_PROJECT=$PROJECT"
echo "WIF_PROVIDER=$POOL_ID/providers/$PROVIDER"
echo "DEPLOY_SERVICE_ACCOUNT=$DEPLOYER"
echo "SITE_URL=$SITE_URL"
echo "ROLLOUT_EMAIL=<the viewer account the rollout signs in with>; secret ROLLOUT_PASSWORD:"
echo "  gcloud secrets versions access latest --secret=$ROLLOUT_SECRET --project=$PROJECT"
