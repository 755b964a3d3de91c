#!/usr/bin/env python3
"""The code's shape, held by a test:
- no function in the journey (runtime/src/journey/) is longer than 80 lines;
- no file under compiler/src/codegen/ is longer than 800 lines;
- the runtime names functions, variables and members in snake_case (types are
  UpperCamelCase, constants kUpperCamelCase, the C ABI mmt_ and MMT_).

Usage: check_code_shape.py SOURCE_DIR. Prints each place that breaks a rule and
exits 1 if there is one."""
import pathlib
import re
import sys

MAX_JOURNEY_FUNCTION = 80
MAX_CODEGEN_FILE = 800
# libmmtc's API, which the runtime calls and the compiler names in its own convention.
COMPILER_API = {"addPath", "builtinSpecDir", "compileCached", "compileLazily", "defaultCacheDir",
                "errorCount",
                "ioError", "loadCached", "versionText"}


def code_lines(text):
    """The lines of a C++ file without comments and with string and character literals
    emptied, so that braces and names inside them do not count."""
    out, in_block = [], False
    for line in text.split("\n"):
        kept, i = [], 0
        while i < len(line):
            if in_block:
                end = line.find("*/", i)
                if end < 0:
                    break
                in_block, i = False, end + 2
            elif line.startswith("//", i):
                break
            elif line.startswith("/*", i):
                in_block, i = True, i + 2
            elif line[i] in "\"'":
                quote, i = line[i], i + 1
                while i < len(line) and line[i] != quote:
                    i += 2 if line[i] == "\\" else 1
                kept.append('""')
                i += 1
            else:
                kept.append(line[i])
                i += 1
        out.append("" if line.lstrip().startswith("#") else "".join(kept))
    return out


SCOPE = re.compile(r"^(namespace\b|extern\s*\"\"|(template\s*<.*>\s*)?(struct|class|union|enum)\b)")
CONTROL = re.compile(r"^(if|for|while|switch|return|else|do|catch)\b")
SIGNATURE_END = re.compile(r"\)\s*(const)?\s*(noexcept)?\s*(override)?\s*(->\s*[\w:<>&*, ]+)?\s*(:.*)?$")


def functions(lines):
    """(first line, line count) of each function body, lambdas and local classes inside
    a function counting as part of it."""
    stack, head = [], ""
    for number, line in enumerate(lines, 1):
        for c in line + " ":
            if c == "{":
                sig = " ".join(head.split())
                kind = "block"
                if SCOPE.match(sig):
                    kind = "scope"
                elif (")" in sig and all(k != "function" for k, _ in stack) and SIGNATURE_END.search(sig)
                      and not CONTROL.match(sig) and "=" not in sig.split("(")[0]):
                    kind = "function"
                stack.append((kind, number))
                head = ""
            elif c == "}":
                if stack:
                    kind, first = stack.pop()
                    if kind == "function":
                        yield first, number - first + 1
                head = ""
            elif c == ";":
                head = ""
            else:
                head += c


def main():
    root = pathlib.Path(sys.argv[1])
    problems = []
    for path in sorted((root / "runtime/src/journey").glob("*.cpp")):
        for first, count in functions(code_lines(path.read_text())):
            if count > MAX_JOURNEY_FUNCTION:
                problems.append(f"{path.relative_to(root)}:{first}: a function of {count} lines "
                                f"(the journey keeps them to {MAX_JOURNEY_FUNCTION})")
    for path in sorted((root / "compiler/src/codegen").glob("*")):
        count = path.read_text().count("\n")
        if count > MAX_CODEGEN_FILE:
            problems.append(f"{path.relative_to(root)}: {count} lines "
                            f"(code generation files keep to {MAX_CODEGEN_FILE})")
    camel = re.compile(r"\b(?!k[A-Z0-9])([a-z][a-z0-9]*[A-Z]\w*)\b")
    for folder in ("runtime/src", "runtime/include", "runtime/tools"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".cpp", ".h"):
                continue
            for number, line in enumerate(code_lines(path.read_text()), 1):
                for name in camel.findall(line):
                    if name not in COMPILER_API:
                        problems.append(f"{path.relative_to(root)}:{number}: '{name}' is not "
                                        "snake_case")
    for p in problems:
        print(p)
    print(f"{len(problems)} place(s) break the code's shape" if problems else "code shape: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
