#!/usr/bin/env bash
# The template as users deploy it: cfn-lint (with the serverless rules), the dashboard's
# picture drawn from it, `sam validate --lint`, samconfig.toml.example, the documented
# `sam deploy` commands through SAM CLI's own parameter code (scripts/sam-deploy-check.py),
# and `sam build --beta-features`, whose artifact must be an arm64 bootstrap.
# `sam local invoke` needs Docker and is not run here. What it would give the function
# is: the environment is resolved with the installed SAM CLI's own code, merged with
# events/sam-local-env.json as `--env-vars` does, and the built binary is started with it
# against the tests' Runtime API and sent every sample event (tests/sam_local_env.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(scripts/install-tools.sh | tail -n 1)
export PATH="$bin:$PATH"
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-eu-west-1}
export SAM_CLI_TELEMETRY=0

echo "--- cfn-lint"
cfn-lint template.yaml
echo "--- cfn-lint with the serverless rules"
cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml
echo "--- the dashboard's picture draws from the template"
"$bin/python" scripts/draw-dashboard.py "$(mktemp -d)/dashboard.png"
echo "--- sam validate --lint"
sam validate --lint --template-file template.yaml

build_dir=$(mktemp -d)
trap 'rm -rf "$build_dir"' EXIT
echo "--- SAM CLI reads samconfig.toml.example, copied to samconfig.toml, for both key paths"
cp samconfig.toml.example "$build_dir/samconfig.toml"
"$bin/python" - "$build_dir" <<'PY'
import pathlib, sys
from samcli.lib.config.samconfig import SamConfig
config = SamConfig(pathlib.Path(sys.argv[1]))
for env, overrides in [("default", None), ("secret", "MergeWebhookSignatureSecretArn=")]:
    deploy = config.get_all(["deploy"], "parameters", env=env)
    assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["stack_name"], (env, deploy)
    # The Region comes from the AWS CLI's configuration, as for the runbooks' commands.
    assert "region" not in deploy, (env, deploy)
    got = deploy.get("parameter_overrides")
    assert (got is None) if overrides is None else got.startswith(overrides), (env, got)
    print(f"{env}: {deploy}")
PY
echo "--- the documented sam deploy commands, through SAM CLI's own parameter code"
"$bin/python" scripts/sam-deploy-check.py
echo "--- sam local invoke's environment, with --env-vars events/sam-local-env.json"
AWS_EC2_METADATA_DISABLED=true "$bin/python" scripts/sam-local-env.py events/sam-local-env.json \
    > "$build_dir/sam-local-env.json"
SAM_LOCAL_RESOLVED_ENV="$build_dir/sam-local-env.json" \
    cargo test --locked --test sam_local_env -- --ignored
echo "--- sam build --beta-features"
sam build --beta-features --template-file template.yaml --build-dir "$build_dir"
artifact="$build_dir/DeprovisionFunction/bootstrap"
python3 scripts/elf-arch.py "$artifact" aarch64
echo "sam build artifact: $(stat -c %s "$artifact") bytes"
