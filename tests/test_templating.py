"""render() with hostile values: every value lands where the template put it, or is refused."""

from __future__ import annotations

import shlex
import subprocess
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from sre_tui.core.templating import Context, TemplateError, render

# Values an alert label or a --var could carry, meant to break out of where they land.
HOSTILE = [
    "'",
    '"',
    'it\'s "quoted"',
    "$(rm -rf /)",
    "`rm -rf /`",
    "; rm -rf /",
    "&& reboot",
    "|| true",
    "a | tee /etc/passwd",
    "> /dev/sda",
    "$HOME",
    "${IFS}",
    "*",
    "~root",
    "\\",
    "a\\",
    "' ; echo pwned ; '",
    '" ; echo pwned ; "',
    "-rf",
    "# comment",
    "two words",
    "",
]

C0_CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f"]


def _promql_split(expr: str) -> tuple[str, list[str]]:
    """PromQL with each double-quoted string emptied, and the decoded strings.

    Follows PromQL's lexer: inside "…" a backslash escapes the next character.
    """
    skeleton: list[str] = []
    strings: list[str] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch != '"':
            skeleton.append(ch)
            i += 1
            continue
        i += 1
        value: list[str] = []
        while True:
            if i >= len(expr):
                raise AssertionError(f"unterminated string in {expr!r}")
            if expr[i] == "\\":
                value.append(expr[i + 1])
                i += 2
            elif expr[i] == '"':
                i += 1
                break
            else:
                value.append(expr[i])
                i += 1
        skeleton.append('""')
        strings.append("".join(value))
    return "".join(skeleton), strings


# ---- shell ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [v for v in HOSTILE if not v.startswith("-")])
def test_shell_value_round_trips_as_exactly_one_argument(value: str) -> None:
    rendered = render(
        "kubectl logs -n {{ ns }} {{ pod }} --tail=10", {"ns": "prod", "pod": value}, Context.SHELL
    )
    assert shlex.split(rendered) == ["kubectl", "logs", "-n", "prod", value, "--tail=10"]


@pytest.mark.parametrize("value", ["-rf", "--kubeconfig=/tmp/evil", "--context=prod", "-"])
def test_shell_value_that_would_be_an_option_is_refused(value: str) -> None:
    with pytest.raises(TemplateError, match="read it as an option"):
        render("kubectl logs {{ pod }} -n prod", {"pod": value}, Context.SHELL)


@pytest.mark.parametrize("value", HOSTILE)
def test_shell_value_glued_to_an_option_stays_in_that_argument(value: str) -> None:
    rendered = render("kubectl logs --since={{ since }} x", {"since": value}, Context.SHELL)
    assert shlex.split(rendered) == ["kubectl", "logs", f"--since={value}", "x"]


def test_shell_value_is_one_argument_for_a_real_shell(tmp_path) -> None:
    # Harmless payloads: if quoting broke, they would create files in tmp_path.
    payloads = ["$(touch sub)", "`touch tick`", "; touch semi", "&& touch and", "a b", "'\"'"]
    for value in payloads:
        rendered = render("printf '%s\\0' {{ v }}", {"v": value}, Context.SHELL)
        out = subprocess.run(
            ["sh", "-c", rendered], cwd=tmp_path, capture_output=True, check=True, timeout=5
        ).stdout
        assert out.decode().split("\0")[:-1] == [value]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "template",
    [
        "echo '{{ x }}'",
        'echo "{{ x }}"',
        'sh -c "kubectl get pods -n {{ x }}"',
        "echo 'a b {{ x }} c'",
        "echo $'{{ x }}'",
    ],
)
def test_shell_placeholder_inside_quotes_is_refused(template: str) -> None:
    with pytest.raises(TemplateError, match=r"inside quotes"):
        render(template, {"x": "harmless"}, Context.SHELL)


def test_shell_placeholder_after_closed_quotes_is_allowed() -> None:
    rendered = render("echo 'a' \"b\" {{ x }}", {"x": "it's"}, Context.SHELL)
    assert shlex.split(rendered) == ["echo", "a", "b", "it's"]


def test_shell_placeholder_after_escaped_quote_is_not_inside_quotes() -> None:
    rendered = render("echo \\' {{ x }}", {"x": "$(id)"}, Context.SHELL)
    assert shlex.split(rendered) == ["echo", "'", "$(id)"]


def test_shell_placeholder_right_after_a_backslash_cannot_run_the_value(tmp_path) -> None:
    # Regression: a placeholder right after a backslash would let `\` escape the quoting.
    template = "echo \\{{ x }} \\'"
    try:
        rendered = render(template, {"x": "$(touch pwned)"}, Context.SHELL)
    except TemplateError:
        return
    subprocess.run(["sh", "-c", rendered], cwd=tmp_path, capture_output=True, timeout=5)
    assert not (tmp_path / "pwned").exists(), f"the shell ran the value: {rendered}"


@pytest.mark.parametrize("control", C0_CONTROLS, ids=lambda c: f"0x{ord(c):02x}")
@pytest.mark.parametrize("context", list(Context))
def test_control_characters_are_refused_in_every_context(control: str, context: Context) -> None:
    with pytest.raises(TemplateError, match=r"value of 'x' contains control characters"):
        render("a {{ x }} b", {"x": f"ok{control}rm -rf /"}, context)


@pytest.mark.parametrize("control", ["\x85", "\x9b"], ids=ascii)
def test_c1_control_characters_are_refused(control: str) -> None:
    # Regression: C1 controls (U+0085 NEL, U+009B CSI) are refused like C0 ones.
    with pytest.raises(TemplateError, match=r"control characters"):
        render("Deployment {{ x }}", {"x": f"web{control}31m"}, Context.TEXT)


def test_overlong_value_is_refused() -> None:
    with pytest.raises(TemplateError, match=r"'x' is longer than 1024"):
        render("{{ x }}", {"x": "a" * 1025}, Context.TEXT)
    assert render("{{ x }}", {"x": "a" * 1024}, Context.TEXT) == "a" * 1024


# ---- PromQL ---------------------------------------------------------------------------

PROMQL_HOSTILE = [
    '"} or vector(1) #',
    '\\"} or vector(1) #',
    '"}) or on() vector(1) or up{a="',
    "a\\",
    "\\",
    '"',
    'x\\\\"}',
    "it's `raw`",
    "$(rm -rf /)",
]


@pytest.mark.parametrize("value", PROMQL_HOSTILE)
def test_promql_label_value_cannot_close_its_string(value: str) -> None:
    template = 'sum(rate(http_requests_total{job="{{ job }}", code=~"5.."}[{{ w }}]))'
    rendered = render(template, {"job": value, "w": "5m"}, Context.PROMQL)
    skeleton, strings = _promql_split(rendered)
    assert skeleton == 'sum(rate(http_requests_total{job="", code=~""}[5m]))'
    assert strings == [value, "5.."]


def test_promql_value_after_an_escaped_quote_is_still_inside_the_string() -> None:
    rendered = render('up{msg="say \\"{{ x }}\\""}', {"x": '"} or vector(1)'}, Context.PROMQL)
    skeleton, strings = _promql_split(rendered)
    assert skeleton == 'up{msg=""}'
    assert strings == ['say ""} or vector(1)"']


@pytest.mark.parametrize(
    "value",
    ["5m])", "5m] or vector(1)", "1h offset 1d", "5m # x", "", "5 m", "up or vector(1)", "'x'"],
)
def test_promql_non_duration_outside_quotes_is_refused(value: str) -> None:
    with pytest.raises(TemplateError, match=r"not a duration, number or metric name"):
        render("rate(x_total[{{ w }}])", {"w": value}, Context.PROMQL)


@pytest.mark.parametrize("value", ["5m", "1h30m", "250ms", "0.95", "-1", "42", "job:rate5m"])
def test_promql_durations_numbers_and_names_outside_quotes_are_kept(value: str) -> None:
    rendered = render("x[{{ w }}]", {"w": value}, Context.PROMQL)
    assert rendered == f"x[{value}]"


def test_promql_single_quoted_label_value_is_not_treated_as_a_string() -> None:
    # Only double-quoted strings escape; anything else must pass the bare-value rules.
    with pytest.raises(TemplateError):
        render("up{job='{{ x }}'}", {"x": "a'} or vector(1) #"}, Context.PROMQL)


# ---- Kubernetes names and selectors ---------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["../etc", "..", "UPPER", "a" * 254, "a/b", "-lead", "trail-", "", "a b", "a_b", "ns;rm"],
    ids=lambda v: v[:12] or "empty",
)
def test_invalid_kubernetes_names_are_refused(value: str) -> None:
    with pytest.raises(TemplateError, match=r"not a valid Kubernetes name"):
        render("{{ name }}", {"name": value}, Context.K8S_NAME)


@pytest.mark.parametrize("value", ["my-app", "web", "a", "app.v1", "a" * 253, "0abc"])
def test_valid_kubernetes_names_are_kept(value: str) -> None:
    assert render("{{ name }}", {"name": value}, Context.K8S_NAME) == value


@pytest.mark.parametrize("value", ["a..b", "a.-b"])
def test_kubernetes_names_follow_dns_1123_subdomain_rules(value: str) -> None:
    # Regression: DNS-1123 subdomains reject empty or dash-edged labels ("a..b", "a.-b").
    with pytest.raises(TemplateError, match=r"not a valid Kubernetes name"):
        render("{{ name }}", {"name": value}, Context.K8S_NAME)


@pytest.mark.parametrize(
    "value",
    ["web,env=prod", "web env", "a!=b", "x)", "in (a,b)", "-web", "web-", "a" * 64, "a/b", "a=b"],
    ids=lambda v: v[:12],
)
def test_selector_values_that_would_change_the_selector_are_refused(value: str) -> None:
    with pytest.raises(TemplateError, match=r"not a valid Kubernetes label value"):
        render("app={{ app }}", {"app": value}, Context.SELECTOR)


@pytest.mark.parametrize("value", ["my-app", "My_App.v1", "a" * 63, ""])
def test_valid_selector_values_are_kept(value: str) -> None:
    assert render("app={{ app }},tier=web", {"app": value}, Context.SELECTOR) == (
        f"app={value},tier=web"
    )


# ---- URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["a b", "x/../../admin", "q?admin=1", "frag#x", "a&b=c", "100%", "ünï", "@evil.com"]
)
def test_url_value_stays_one_path_segment(value: str) -> None:
    rendered = render("https://flags.example/api/flags/{{ f }}/state", {"f": value}, Context.URL)
    parts = urlsplit(rendered)
    assert parts.netloc == "flags.example"
    assert parts.query == "" and parts.fragment == ""
    segments = parts.path.split("/")
    assert len(segments) == 5
    assert segments[:3] == ["", "api", "flags"] and segments[4] == "state"
    assert unquote(segments[3]) == value


@pytest.mark.parametrize("value", ["..", "."])
def test_url_value_cannot_be_a_dot_segment(value: str) -> None:
    # Regression: dot segments would move an HTTP request to another path.
    try:
        rendered = render(
            "https://flags.example/api/flags/{{ f }}/state", {"f": value}, Context.URL
        )
    except TemplateError:
        return
    # What the client requests: still three segments under /api/flags/.
    assert httpx.URL(rendered).path.split("/")[:3] == ["", "api", "flags"]
    assert len(httpx.URL(rendered).path.split("/")) == 5


# ---- braces and missing variables -----------------------------------------------------


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ('sum(up{job="x"}) by (instance)', Context.PROMQL),
        ("kubectl get pods -o jsonpath='{.items[*].metadata.name}'", Context.SHELL),
        ("echo ${HOME} $((1+2)) {a,b}", Context.SHELL),
        ("see {docs} and {{{{ not a var", Context.TEXT),
    ],
)
def test_single_braces_are_left_alone(template: str, context: Context) -> None:
    assert render(template, {}, context) == template


def test_single_braces_next_to_a_placeholder_are_left_alone() -> None:
    rendered = render(
        "kubectl get pods -n {{ ns }} -o jsonpath={.items[*]} ${HOME}",
        {"ns": "prod"},
        Context.SHELL,
    )
    assert rendered == "kubectl get pods -n prod -o jsonpath={.items[*]} ${HOME}"


def test_placeholder_spacing_is_flexible() -> None:
    assert render("{{x}}-{{  x  }}", {"x": "v"}, Context.TEXT) == "v-v"


@pytest.mark.parametrize("context", list(Context))
def test_missing_variable_names_the_variable(context: Context) -> None:
    with pytest.raises(TemplateError) as info:
        render("a {{ present }} {{ deployment_name }}", {"present": "5m"}, context)
    message = str(info.value)
    assert "'deployment_name'" in message
    assert "--var deployment_name=VALUE" in message
