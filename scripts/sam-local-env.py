#!/usr/bin/env python3
"""Prints, as JSON, the environment `sam local invoke` gives DeprovisionFunction, resolved
by the installed SAM CLI's own code: the template read by its stack and function
providers (as `sam local invoke` reads it, with --parameter-overrides), then its
LocalLambdaRunner merging the function's variables with an --env-vars file.

Usage: scripts/sam-local-env.py [ENV_VARS_FILE] [Key=Value ...]
Run with the Python of the venv that holds the SAM CLI (scripts/install-tools.sh).
"""
import json
import pathlib
import sys

from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

ROOT = pathlib.Path(__file__).resolve().parent.parent
FUNCTION = "DeprovisionFunction"


def main():
    env_vars = {}
    overrides = {}
    for arg in sys.argv[1:]:
        if "=" in arg:
            key, value = arg.split("=", 1)
            overrides[key] = value
        else:
            env_vars = json.loads(pathlib.Path(arg).read_text())
    stacks, _ = SamLocalStackProvider.get_stacks(
        str(ROOT / "template.yaml"), parameter_overrides=overrides
    )
    provider = SamFunctionProvider(stacks)
    function = provider.get(FUNCTION)
    if function is None:
        sys.exit(f"{FUNCTION} is not in template.yaml")
    # No container runtime is needed to resolve the environment, only the runner's
    # own merging of the template's variables, the shell and the --env-vars file.
    runner = LocalLambdaRunner(
        local_runtime=None,
        function_provider=provider,
        cwd=str(ROOT),
        real_path=str(ROOT),
        env_vars_values=env_vars,
    )
    print(json.dumps(runner._make_env_vars(function).resolve(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
