#!/usr/bin/env python3
"""The documented `sam deploy` commands that create or change a stack, run through the
installed SAM CLI's own code, and what the stack's parameters are afterwards.

Each command is taken from the docs as written: the fenced block after a marker line
`<!-- sam-deploy: NAME -->` (in README.md or docs/*.md). The shell splits it into
arguments (bash, with the variables below and `sam` as a function that prints its
arguments); `sam deploy`'s own click command parses them, reading samconfig.toml (a
copy of samconfig.toml.example) as `sam deploy` does; `DeployContext.merge_parameters`
marks every parameter the command does not give `UsePreviousValue`, as `sam deploy` does
on every deploy; and `Deployer.create_changeset`, against a stand-in for CloudFormation
that holds the previous stack, drops what CloudFormation would refuse and sends the
change set. The parameters the stack would then have (CloudFormation keeps the previous
value for `UsePreviousValue`, and uses the template's default on a new stack) are
checked, and so is the template's rule that exactly one key source is given, evaluated
with SAM CLI's intrinsic resolver.

It fails if a documented command leaves the previous key in place, keeps the key in the
environment beside the secret, or gives a parameter set the template's rule refuses; if
SAM CLI stops refusing `Name=` (the empty value the docs warn about) or stops keeping an
omitted parameter (then the docs' account of updates is wrong); and if a marker is missing.

Usage: scripts/sam-deploy-check.py   (with the Python of the venv that holds the SAM CLI)
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import click
from samcli.commands.deploy.command import cli as sam_deploy
from samcli.commands.deploy.deploy_context import DeployContext
from samcli.lib.deploy.deployer import Deployer
from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable
from samcli.yamlhelper import yaml_parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- sam-deploy: ([a-z0-9-]+) -->$")

KEY = "MergeWebhookSignatureKey"
PREVIOUS = "MergeWebhookSignatureKeyPrevious"
ARN = "MergeWebhookSignatureSecretArn"

# The shell variables the documented commands use: the key deployed first is the one a
# rotation calls OLD_KEY.
VARIABLES = {
    "MERGE_WEBHOOK_SIGNATURE_KEY": "first-key-3f9c",
    "OLD_KEY": "first-key-3f9c",
    "NEW_KEY": "second-key-8d21",
}


def documented_blocks():
    """{marker name: [the block's `sam deploy` commands, continuation lines joined]}."""
    blocks = {}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = path.read_text().splitlines()
        for at, line in enumerate(lines):
            found = MARKER.match(line.strip())
            if not found:
                continue
            name = found.group(1)
            if name in blocks:
                sys.exit(f"{path.name}: the marker {name} is used twice")
            fence = at + 1
            if fence >= len(lines) or not lines[fence].startswith("```"):
                sys.exit(f"{path.name}: the marker {name} is not followed by a fenced block")
            body = []
            for text in lines[fence + 1 :]:
                if text.startswith("```"):
                    break
                body.append(text)
            joined = re.sub(r"\\\n\s*", " ", "\n".join(body)).splitlines()
            commands = [c.strip() for c in joined if c.strip().startswith("sam deploy")]
            if not commands:
                sys.exit(f"{path.name}: the block after {name} has no sam deploy command")
            blocks[name] = (path.relative_to(ROOT), commands)
    return blocks


def arguments(command):
    """The arguments bash gives `sam` for `command`, with VARIABLES set (and no other)."""
    script = 'set -u\nsam() { printf "%s\\0" "$@"; }\n' + command + "\n"
    env = {"PATH": os.environ["PATH"], **VARIABLES}
    out = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        sys.exit(f"the shell refused `{command}`: {out.stderr.strip()}")
    args = out.stdout.split("\0")[:-1]
    assert args[0] == "deploy", command
    return args[1:]


def overrides(args):
    """What `sam deploy` makes of `args` (samconfig.toml in the working directory)."""
    context = sam_deploy.make_context("deploy", list(args))
    return dict(context.params["parameter_overrides"] or {})


class PreviousStack:
    """Stands in for CloudFormation: holds the previous stack's parameters (or none) and
    keeps the change set SAM CLI sends."""

    def __init__(self, previous):
        self.previous = previous
        self.sent = None

    def describe_stacks(self, StackName):
        if self.previous is None:
            raise_not_found(StackName)
        return {"Stacks": [{"StackName": StackName, "StackStatus": "UPDATE_COMPLETE"}]}

    def get_template_summary(self, StackName):
        return {"Parameters": [{"ParameterKey": k} for k in self.previous]}

    def create_change_set(self, **kwargs):
        self.sent = kwargs
        return {"Id": "change-set", "StackId": "stack"}


def raise_not_found(stack_name):
    import botocore.exceptions

    raise botocore.exceptions.ClientError(
        {"Error": {"Code": "ValidationError", "Message": f"Stack with id {stack_name} does not exist"}},
        "DescribeStacks",
    )


def deploy(template, previous, command):
    """The stack's parameters after `command`, from `previous` (None: no stack yet)."""
    given = overrides(arguments(command))
    for name in given:
        assert name in template["Parameters"], f"{command}: {name} is no template parameter"
    values = DeployContext.merge_parameters(template, given)
    stand_in = PreviousStack(previous)
    Deployer(stand_in).create_changeset(
        stack_name="merge-deprovision",
        cfn_template="{}",
        parameter_values=values,
        capabilities=["CAPABILITY_IAM"],
        role_arn=None,
        notification_arns=None,
        s3_uploader=None,
        tags=[],
    )
    sent = {p["ParameterKey"]: p for p in stand_in.sent["Parameters"]}
    after = {}
    for name, declared in template["Parameters"].items():
        parameter = sent.get(name)
        if parameter is None:
            after[name] = str(declared.get("Default", ""))
        elif parameter.get("UsePreviousValue"):
            after[name] = previous[name]
        else:
            after[name] = parameter["ParameterValue"]
    return after


def rule_accepts(template, parameters):
    symbols = IntrinsicsSymbolTable(template=template, logical_id_translator=parameters)
    resolver = IntrinsicResolver(template=template, symbol_resolver=symbols)
    return all(
        resolver.intrinsic_property_resolver(assertion["Assert"], ignore_errors=False) is True
        for rule in template["Rules"].values()
        for assertion in rule["Assertions"]
    )


def key_state(parameters):
    return {name: parameters[name] for name in (KEY, PREVIOUS, ARN)}


def main():
    template = yaml_parse((ROOT / "template.yaml").read_text())
    blocks = documented_blocks()
    failures = []

    def check(what, condition, detail=""):
        print(("ok   " if condition else "FAIL ") + what + (f": {detail}" if detail else ""))
        if not condition:
            failures.append(what)

    def one(name, needle=None):
        if name not in blocks:
            sys.exit(f"no block is marked <!-- sam-deploy: {name} -->")
        path, commands = blocks[name]
        chosen = [c for c in commands if needle is None or needle in c]
        if len(chosen) != 1:
            sys.exit(f"{path}, {name}: expected one sam deploy command, found {chosen}")
        print(f"  {path} [{name}]: {chosen[0]}")
        return chosen[0]

    work = pathlib.Path(tempfile.mkdtemp())
    try:
        shutil.copy(ROOT / "template.yaml", work / "template.yaml")
        shutil.copy(ROOT / "samconfig.toml.example", work / "samconfig.toml")
        os.chdir(work)
        secret_arn = overrides(["--config-env", "secret"]).get(ARN, "")
        old, new = VARIABLES["OLD_KEY"], VARIABLES["NEW_KEY"]

        print("--- SAM CLI as the docs describe it")
        try:
            overrides(["--parameter-overrides", f"{PREVIOUS}="])
            check(f"`{PREVIOUS}=` is refused by SAM CLI's parser", False, "it parses")
        except click.exceptions.BadParameter:
            check(f"`{PREVIOUS}=` is refused by SAM CLI's parser", True)
        check(
            f"`'{PREVIOUS}=\"\"'` gives the empty value",
            overrides(["--parameter-overrides", f'{PREVIOUS}=""']) == {PREVIOUS: ""},
        )
        kept = deploy(template, {**defaults(template), KEY: old, PREVIOUS: old}, f'sam deploy --parameter-overrides {KEY}="$NEW_KEY"')
        check(
            "an update keeps every parameter it does not give (UsePreviousValue)",
            kept[PREVIOUS] == old,
            f"{PREVIOUS} is {'still the old key' if kept[PREVIOUS] == old else repr(kept[PREVIOUS])}",
        )

        print("--- the first deploys (README)")
        first_key = deploy(template, None, one("first-deploy", f"{KEY}="))
        check("the key in the environment", key_state(first_key) == {KEY: old, PREVIOUS: "", ARN: ""}, key_state(first_key))
        check("  the template's rule accepts it", rule_accepts(template, first_key))
        first_secret = deploy(template, None, one("first-deploy", "--config-env secret"))
        check("the key in Secrets Manager", key_state(first_secret) == {KEY: "", PREVIOUS: "", ARN: secret_arn}, key_state(first_secret))
        check("  the template's rule accepts it", rule_accepts(template, first_secret))

        print("--- rotating the key in the environment (docs/operations.md)")
        both = deploy(template, first_key, one("rotate-environment-key-start"))
        check("both keys are accepted", key_state(both) == {KEY: new, PREVIOUS: old, ARN: ""}, key_state(both))
        check("  the template's rule accepts it", rule_accepts(template, both))
        done = deploy(template, both, one("rotate-environment-key-finish"))
        check("the previous key is cleared", key_state(done) == {KEY: new, PREVIOUS: "", ARN: ""}, key_state(done))
        check("  the template's rule accepts it", rule_accepts(template, done))

        print("--- moving the key from the environment to Secrets Manager (docs/operations.md)")
        switch = one("switch-to-secret")
        for label, before in [("from the key in the environment", first_key), ("in the middle of a rotation", both)]:
            after = deploy(template, before, switch)
            check(f"{label}: no key is left in the environment", key_state(after) == {KEY: "", PREVIOUS: "", ARN: secret_arn}, key_state(after))
            check(f"{label}: the template's rule accepts it", rule_accepts(template, after))
            rest = {k: v for k, v in after.items() if k not in (KEY, PREVIOUS, ARN)}
            check(f"{label}: every other parameter is kept", rest == {k: v for k, v in before.items() if k not in (KEY, PREVIOUS, ARN)})

        print("--- dry run to enforce (docs/deprovisioning.md)")
        enforce = one("deprovision-enforce")
        targets = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:merge-deprovision/scim-targets-AbCdEf"
        for label, before in [("the key in the environment", done), ("the key in Secrets Manager", first_secret)]:
            before = {**before, "ScimTargetsSecretArn": targets, "DeprovisionMode": "dry-run"}
            after = deploy(template, before, enforce)
            check(f"{label}: enforcing", after["DeprovisionMode"] == "enforce", after["DeprovisionMode"])
            check(
                f"{label}: everything else as it was",
                {**after, "DeprovisionMode": "dry-run"} == before,
            )
            check(f"{label}: the template's rule accepts it", rule_accepts(template, after))
    finally:
        os.chdir(ROOT)
        shutil.rmtree(work)
    if failures:
        sys.exit(f"{len(failures)} documented deploy step(s) do not do what the docs say")
    print("every documented deploy step does what the docs say")


def defaults(template):
    return {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}


if __name__ == "__main__":
    main()
