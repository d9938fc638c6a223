#!/usr/bin/env python3
"""Checks every shell command in README.md and docs/*.md against the germ that was built.

    docs_commands.py GERM SOURCE_DIR RUN_DIR

In every fenced block that is shell (``` , ```sh, ```bash, ```console; not text/json/yaml):
- each `germ <command>` (also `build/germ`, after `|`, `&&`, `;`) must name a command that
  `germ --help` lists, and each option it uses must be one that `germ <command> --help` lists;
- each path into the repository (scripts/, workflows/, test_data/, docs/, models/, bench/) must
  exist.
A block preceded by the line `<!-- docs-test: run -->` is also written to RUN_DIR as a script
for tests/cli/docs_commands.sh to run, with `--steps N` capped at 2 and `--size small|base`
made `tiny` (CI time). A block whose commands need what CI lacks says so in a comment
`# docs-test: <reason>` and is only checked.
Prints one line per problem and exits 1 when there is any.
"""
import pathlib
import re
import shlex
import subprocess
import sys

SHELL_LANGUAGES = {"", "sh", "bash", "shell", "console"}
REPOSITORY_PATH = re.compile(r"^(scripts|workflows|test_data|docs|models|bench)/[\w./-]+$")
OPTION = re.compile(r"^-{1,2}[A-Za-z@][A-Za-z0-9_-]*")
SEPARATORS = {"|", "||", "&&", ";", "&"}
REDIRECTIONS = {">", ">>", "<", "2>", "2>>", "&>"}
# What a runnable block's numbers become on CI: enough to run every code path, not to learn.
CI_CAPS = {"--steps": 2, "--batch-size": 2, "--eval-windows": 2, "--fidelity-sequences": 2}


def run(*args):
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def known_commands(germ):
    return set(re.findall(r"^     ([a-z][a-z0-9_-]*)  ", run(germ, "--help"), re.M))


def options_of(germ, command, cache={}):
    if command not in cache:
        text = run(germ, command, "--help")
        cache[command] = set(re.findall(r"(?<![\w-])(-{1,2}[A-Za-z@][A-Za-z0-9_-]*)", text))
    return cache[command]


def shell_blocks(path):
    """Yields (line number, language, lines, run?) for each fenced block."""
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^\s*```(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        start, language = i, fence.group(1)
        runnable = i > 0 and lines[i - 1].strip() == "<!-- docs-test: run -->"
        i += 1
        body = []
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        yield start + 1, language, body, runnable


def logical_lines(body):
    """Joins backslash continuations; yields (offset, text)."""
    current, first = "", None
    for offset, line in enumerate(body):
        stripped = line.strip()
        if stripped.startswith("$ "):
            stripped = stripped[2:]
        if first is None:
            first = offset
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        yield first, current + stripped
        current, first = "", None
    if current:
        yield first, current


def germ_invocations(tokens):
    command = []
    for token in tokens + [";"]:
        if token in SEPARATORS:
            if command:
                yield command
            command = []
        else:
            command.append(token)


def is_germ(word):
    return word in ("germ", "$GERM", '"$GERM"') or word.endswith("/germ")


def check_invocation(germ, commands, words, where, problems):
    words = words[words.index(next(w for w in words if is_germ(w))):]
    if len(words) == 1:
        return 0
    name = words[1]
    if name in ("--version", "--help", "-h", "version", "help"):
        allowed = {"--version", "--help", "-h", "--verbose", "-v"}
    elif name.startswith("<"):
        return 0  # a placeholder: germ <command>
    elif name not in commands:
        problems.append(f"{where}: 'germ {name}' is not a germ command")
        return 1
    else:
        allowed = options_of(germ, name)
    for word in words[2:]:
        if word in REDIRECTIONS or word.startswith(("$(", "`")):
            break
        word = word.strip("[(").rstrip("]),")
        match = OPTION.match(word)
        if match and match.group(0) not in allowed:
            problems.append(f"{where}: 'germ {name}' has no option {match.group(0)}")
    return 1


def main():
    germ, source, run_dir = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    commands = known_commands(germ)
    problems, checked, scripts = [], 0, 0
    pages = [source / "README.md"] + sorted((source / "docs").glob("*.md"))
    for page in pages:
        for start, language, body, runnable in shell_blocks(page):
            if language not in SHELL_LANGUAGES:
                continue
            for offset, line in logical_lines(body):
                first_word = (line.split() or [""])[0]
                if language == "" and not (is_germ(first_word) or REPOSITORY_PATH.match(first_word)):
                    continue
                where = f"{page.relative_to(source)}:{start + 1 + offset}"
                try:
                    tokens = shlex.split(line, comments=True)
                except ValueError as error:
                    problems.append(f"{where}: cannot parse as shell ({error}): {line}")
                    continue
                for token in tokens:
                    if REPOSITORY_PATH.match(token) and "*" not in token and not (source / token).exists():
                        problems.append(f"{where}: {token} does not exist")
                for words in germ_invocations(tokens):
                    if any(is_germ(w) for w in words):
                        checked += check_invocation(germ, commands, words, where, problems)
            if runnable:
                text = "\n".join(body) + "\n"
                for option, cap in CI_CAPS.items():
                    text = re.sub(option + r" \d+", f"{option} {cap}", text)
                text = re.sub(r"--size (small|base)", "--size tiny", text)
                scripts += 1
                name = f"{scripts:02d}_{page.stem}_{start}.sh"
                (run_dir / name).write_text(f"# {page.relative_to(source)}:{start}\n" + text)
    for problem in problems:
        print(problem)
    print(f"{checked} germ commands checked in {len(pages)} pages, {scripts} blocks to run, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
