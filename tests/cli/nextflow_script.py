#!/usr/bin/env python3
"""Prints the shell script of one Nextflow process block as Nextflow would run it.

Nextflow cannot be installed here (no JVM packages for it in Debian, no network on CI), so
tests/cli/nextflow.sh runs the modules' shell commands through this renderer instead:

    nextflow_script.py FILE.nf PROCESS script|stub NAME=VALUE...

It takes the block's triple-quoted string, strips its common indentation (Groovy's
stripIndent, as Nextflow does), unescapes \\\\ and \\$, and replaces every ${expr} and $name by
the value given for it. A variable without a value is an error, so a module that starts using a
new variable fails the test until the test gives it one.
"""
import re
import sys
import textwrap


def process_body(text, name):
    match = re.search(r"^process\s+" + re.escape(name) + r"\s*\{", text, re.M)
    if not match:
        sys.exit(f"nextflow_script.py: no process {name}")
    depth, at = 1, match.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[at], 0)
        at += 1
    return text[match.end():at - 1]


def block(body, section):
    match = re.search(r"^\s*" + section + r":\s*$(.*?)^\s*\"\"\"(.*?)\"\"\"", body, re.M | re.S)
    if not match:
        sys.exit(f"nextflow_script.py: no {section}: block with a \"\"\" string")
    return match.group(2)


def render(template, values):
    template = textwrap.dedent(template.lstrip("\n"))
    def value(expression):
        if expression not in values:
            sys.exit(f"nextflow_script.py: no value given for ${{{expression}}}")
        return values[expression]
    out, at = [], 0
    pattern = re.compile(r"\\\\|\\\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_.]*)")
    for match in pattern.finditer(template):
        out.append(template[at:match.start()])
        token = match.group(0)
        if token == "\\\\":
            out.append("\\")
        elif token == "\\$":
            out.append("$")
        else:
            out.append(value(match.group(1) if match.group(1) is not None else match.group(2)))
        at = match.end()
    out.append(template[at:])
    return "".join(out)


def main():
    path, process, section = sys.argv[1:4]
    values = dict(arg.split("=", 1) for arg in sys.argv[4:])
    print(render(block(process_body(open(path).read(), process), section), values), end="")


if __name__ == "__main__":
    main()
