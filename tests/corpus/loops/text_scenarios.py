"""Long answers for the streaming text-loop detectors: legitimate repetition and real loops (exact or paraphrased).

Imported by ``generate.py``; each case becomes one JSON file holding the client's request and the
answer as that client's wire response.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

TextCase = Callable[..., None]

PARAGRAPH = (
    "The committee reviewed the quarterly figures again and concluded that the proposal "
    "needs one more round of analysis before any decision can be made. "
)


def _code_with_repeated_lines() -> str:
    funcs = [f"def handler_{i}(request):\n    x = 0\n    y = 0\n    if request is None:\n        return x\n    return y\n\n"
             for i in range(60)]
    return "Here are the generated handlers:\n\n```python\n" + "".join(funcs) + "```\n"


def _markdown_table() -> str:
    rows = ["| # | Invoice | Status | Owner | Overdue days |", "|---|---------|--------|-------|--------------|"]
    rows += [f"| {i} | INV-{1000 + i} | {'paid' if i % 3 else 'open'} | team-{i % 3} | 0 |" for i in range(1, 121)]
    return "Here are the invoices:\n\n" + "\n".join(rows) + "\n\nAll open invoices are within terms.\n"


def _numbered_list() -> str:
    checks = ["Check that the invoice total is rounded to cents", "Check the tax line", "Check the currency symbol",
              "Check the due date", "Check the customer address"]
    return "Release checklist:\n\n" + "".join(f"{i}. {checks[i % len(checks)]} for template {i // 5 + 1}.\n"
                                              for i in range(1, 151))


def _log_lines(fenced: bool) -> str:
    lines = [f"2025-06-12T09:{i // 60:02d}:{i % 60:02d}.{i * 37 % 1000:03d}Z WARN worker-3 retrying connection to "
             f"db:5432 (attempt {i % 5 + 1})" for i in range(220)]
    body = "\n".join(lines)
    if fenced:
        return "These are the log lines you asked for:\n\n```\n" + body + "\n```\n\nThe worker retries every ~250 ms."
    return "Here is the worker log, as requested:\n\n" + body + "\n\nThe database was unreachable for about 4 minutes."


def _json_array() -> str:
    items = [{"id": i, "sku": f"SKU-{i:04d}", "status": "active", "price": "0.00", "tags": ["invoice", "draft"]}
             for i in range(140)]
    return "```json\n" + json.dumps(items, indent=2) + "\n```\n"


def _long_prose() -> str:
    paragraphs = [
        "The proxy sits between the coding agent and the model provider. Every request the agent sends carries the "
        "whole conversation, so the proxy can inspect the history without keeping any state of its own.",
        "Caching matters because agent conversations grow quickly. A long session easily reaches a hundred thousand "
        "tokens, and most of that prefix is identical from one request to the next.",
        "Providers therefore offer prompt caching: the prefix of a request is stored for a few minutes and billed at "
        "a fraction of the normal price when a later request starts with exactly the same tokens.",
        "For the proxy this has one important consequence. Anything it adds to a request must be deterministic, or "
        "the cached prefix stops matching and the agent pays full price again.",
        "Timestamps, random identifiers and per-process counters are the usual culprits. They look harmless in a "
        "single request but break the cache on every turn of a long session.",
        "The same reasoning applies to warnings the proxy inserts. If a note is derived from the conversation alone, "
        "the same history always produces the same note at the same place.",
        "Routing is the second concern. A request may be sent to another backend when the first one is rate limited, "
        "but the agent should not notice anything except a slightly different latency.",
        "Usage accounting closes the loop: every request leaves a row with the tokens, the cost and the backend that "
        "answered, which is what operators look at when the monthly bill arrives.",
        "Finally, the proxy must stay fast. Its overhead is measured in fractions of a millisecond per request, so "
        "every guard on the streaming path has to do constant work per token.",
    ]
    return "\n\n".join(paragraphs) + "\n"


def _summary_with_conclusion() -> str:
    points = [
        ("Rounding", "Totals are now quantized to cents with ROUND_HALF_UP, matching the accounting rules."),
        ("Empty invoices", "The sum starts from Decimal zero, so an invoice without lines returns 0.00 instead of an int."),
        ("Discounts", "Discounts are applied before rounding, which avoids off-by-one-cent totals on large orders."),
        ("Tests", "Three new tests cover rounding, empty invoices and discounts on multi-line invoices."),
    ]
    body = "\n\n".join(f"### {title}\n\n{text}" for title, text in points)
    conclusion = ("In summary: totals are quantized to cents with ROUND_HALF_UP, empty invoices return 0.00 because "
                  "the sum starts from Decimal zero, discounts are applied before rounding, and new tests cover all "
                  "three cases.")
    return "## What changed\n\n" + body + "\n\n## Conclusion\n\n" + conclusion + "\n"


def _tutorial() -> str:
    steps = [("Install the package", "pip install invoicer"), ("Create the database", "invoicer db init"),
             ("Import the customers", "invoicer import customers.csv"), ("Create an invoice", "invoicer new --customer 42"),
             ("Render the PDF", "invoicer render INV-1001"), ("Send it", "invoicer send INV-1001"),
             ("Check the status", "invoicer status INV-1001"), ("Export the ledger", "invoicer export --month 2025-06")]
    out = []
    for i, (title, cmd) in enumerate(steps, 1):
        out.append(f"## Step {i}: {title}\n\nRun the following command:\n\n```bash\n{cmd}\n```\n\n"
                   f"Then check the output. If the command succeeds, it prints `ok` and you can go on to the next step.\n")
    return "\n".join(out)


def _changelog() -> str:
    fixes = ["invoice totals", "tax lines", "credit notes", "PDF footers", "currency symbols", "due dates",
             "customer addresses", "discount lines", "payment reminders", "CSV exports", "ledger exports",
             "VAT numbers", "bank details", "late fees", "partial payments", "refund notes"]
    lines = []
    for i, thing in enumerate(fixes):
        lines.append(f"- Fixed a bug where {thing} were rendered with the wrong locale on some templates (#{812 + i}).")
        lines.append(f"- Fixed a crash when {thing} were empty in imported files (#{840 + i}).")
    return "## 2.9.0\n\n### Fixed\n\n" + "\n".join(lines) + "\n"


def _song() -> str:
    chorus = ("And still the river runs, the river runs to the sea.\nIt carries all our troubles far away from you and me.\n"
              "So let the water take them, let the current set us free.\nAnd still the river runs, the river runs to the sea.\n\n")
    verses = [
        "The morning broke on silver hills, the miller turned his wheel.\nThe farmer walked the furrowed fields with hands as hard as steel.\n\n",
        "The children ran beside the banks, their laughter light and free.\nThe old men sat and told their tales beneath the willow tree.\n\n",
        "The winter came with bitter winds, the ice lay thick and grey.\nBut spring returned with gentle rain and washed the cold away.\n\n",
        "And when the evening settles down and lanterns start to glow.\nWe gather at the water's edge to watch the river flow.\n\n",
    ]
    return "".join(verse + chorus for verse in verses) + chorus


def _faq() -> str:
    qa = [("change the invoice currency", "open Settings, choose Billing and pick the currency from the list"),
          ("add a logo to invoices", "open Settings, choose Branding and upload a PNG or SVG file"),
          ("send reminders automatically", "open Settings, choose Reminders and enable the schedule you want"),
          ("export invoices to CSV", "open Invoices, select the rows and click Export in the toolbar"),
          ("change the numbering scheme", "open Settings, choose Numbering and edit the pattern"),
          ("add a second user", "open Settings, choose Team and click Invite to send an email"),
          ("delete a draft invoice", "open Invoices, select the draft and click Delete in the toolbar"),
          ("restore a deleted invoice", "open Invoices, choose the Trash filter, select it and click Restore"),
          ("change the tax rate", "open Settings, choose Taxes and edit the default rate"),
          ("connect a bank account", "open Settings, choose Payments and click Connect bank account")]
    return "\n\n".join(f"**Q: How do I {q}?**\nA: To {q}, {a}. The change applies to new invoices only."
                       for q, a in qa) + "\n"


def _test_report() -> str:
    names = [f"test_{a}_{b}" for a in ("totals", "tax", "pdf", "cli", "export") for b in
             ("rounds_to_cents", "handles_empty", "applies_discount", "formats_currency", "keeps_order")]
    return "Test run results:\n\n" + "\n".join(
        f"- {name}: passed in 0.{(i * 7) % 90 + 10:02d}s" for i, name in enumerate(names)) + "\n\nAll 25 tests passed.\n"


def _csv() -> str:
    rows = ["date,invoice,customer,amount,currency,status"]
    rows += [f"2025-06-{i % 28 + 1:02d},INV-{2000 + i},CUST-{i % 17:03d},{(i * 13) % 400 + 20}.00,EUR,paid"
             for i in range(160)]
    return "```csv\n" + "\n".join(rows) + "\n```\n"


def _three_explanations() -> str:
    return (
        "**Simply:** a recursive function solves a problem by calling itself on a smaller version of the same "
        "problem, until the problem is so small that the answer is obvious. That smallest case is called the base "
        "case, and it is what stops the calls.\n\n"
        "**With an analogy:** imagine a queue of people where you want to know your position. You ask the person in "
        "front of you for their position and add one. They do the same, and so on, until the first person in the "
        "queue simply says one. Then the answers travel back along the queue.\n\n"
        "**Formally:** a function f is defined recursively when f(n) is expressed in terms of f(m) for some m smaller "
        "than n, together with explicit values for the minimal elements. Well-founded ordering of the arguments "
        "guarantees termination, and correctness follows by induction on n.\n"
    )


def _options_compared() -> str:
    return (
        "Here are the three options for caching invoice PDFs.\n\n"
        "Option A stores the rendered PDFs in Redis. It is fast and shared between workers, but it needs a Redis "
        "server and the PDFs use memory.\n\n"
        "Option B stores the rendered PDFs in a local directory. It is simple and needs no extra server, but the cache "
        "is not shared between workers.\n\n"
        "Option C stores the rendered PDFs in object storage such as S3. It is shared between workers and cheap for "
        "large files, but every cache hit costs a network request.\n\n"
        "Option D does not cache the PDFs at all and renders them on every request. It needs no storage, but rendering "
        "takes about 300 ms per invoice.\n\n"
        "For your setup with four workers and a few thousand invoices a month, I would pick option C.\n"
    )


def _code_review() -> str:
    notes = [
        ("totals.py", "invoice_total", "returns an int when the list of lines is empty", "start the sum at Decimal('0')"),
        ("tax.py", "tax_for", "returns a float when the rate comes from the environment", "parse the rate with Decimal"),
        ("cli.py", "main", "prints the total without rounding it to cents", "quantize the total before printing it"),
        ("export.py", "to_csv", "writes amounts with the locale's decimal separator", "format amounts with a dot"),
        ("pdf.py", "render", "reads the template from the working directory", "resolve it relative to the package"),
        ("reminders.py", "due_soon", "compares naive and aware datetimes", "make both datetimes aware"),
    ]
    return "Review notes:\n\n" + "\n\n".join(
        f"In {path}, the function {func} {problem}. I suggest you {fix} and add a test for it."
        for path, func, problem, fix in notes) + "\n"


def _meeting_notes() -> str:
    people = [("Alice", "the invoice export", "payment reminders"), ("Bob", "the PDF templates", "the VAT report"),
              ("Chen", "the bank import", "the refund flow"), ("Dana", "the customer portal", "single sign-on"),
              ("Emil", "the rounding fix", "the ledger export"), ("Fatima", "the load tests", "the caching layer")]
    return "Stand-up notes, June 12:\n\n" + "\n\n".join(
        f"{name} finished {done} yesterday and will work on {next_} today. No blockers were reported by {name}."
        for name, done, next_ in people) + "\n"


def _week_story() -> str:
    days = [("Monday", "the fox found a loaf of bread by the mill"), ("Tuesday", "the fox found a wheel of cheese at the market"),
            ("Wednesday", "the fox found a basket of apples under the oak"), ("Thursday", "the fox found a jar of honey near the hives"),
            ("Friday", "the fox found a string of sausages outside the butcher's"),
            ("Saturday", "the fox found nothing at all, because the village had learned to lock its doors")]
    return "\n\n".join(f"On {day}, {event}. The fox carried it home through the forest and shared it with the crows."
                        if i < 5 else f"On {day}, {event}. The fox went home hungry and the crows laughed."
                        for i, (day, event) in enumerate(days)) + "\n"


def _line_by_line_math() -> str:
    lines = [(3, "2.50"), (2, "0.333"), (1, "19.99"), (4, "1.25"), (10, "0.10"), (6, "3.75")]
    out = []
    for i, (q, p) in enumerate(lines, 1):
        total = q * float(p)
        out.append(f"Line {i} has quantity {q} at a unit price of {p}, so its total is {q} times {p}, which is {total:.3f}.")
    return " ".join(out) + " Adding the six line totals gives the subtotal.\n"


def _essay_thesis_restated() -> str:
    return (
        "Rounding invoice totals to cents at the very end of the calculation, rather than on every line, keeps the "
        "totals correct and the customers' trust intact.\n\n"
        "Consider an invoice with many small lines. If every line is rounded before it is added, the rounding errors "
        "accumulate, and a long invoice can end up several cents away from the exact amount. Customers who check the "
        "arithmetic notice the difference and open support tickets.\n\n"
        "Accounting standards agree. Most of them require the exact sum of the lines to be computed first and the "
        "result to be rounded once, using a documented rounding mode such as half-up.\n\n"
        "There is also a practical benefit for developers: a single rounding step is easy to test, while rounding "
        "spread over many functions hides in places nobody thinks to check.\n\n"
        "In short, round the invoice total to cents once, at the end of the calculation: the totals stay correct, "
        "the code stays testable, and the customers keep trusting the invoices they receive.\n"
    )


def _api_reference() -> str:
    functions = [
        ("invoice_total(lines, discount=Decimal('0'))", "the total of an invoice", "lines", "a list of (quantity, unit_price) pairs"),
        ("credit_total(lines, discount=Decimal('0'))", "the total of a credit note", "lines", "a list of (quantity, unit_price) pairs"),
        ("tax_total(lines, rate)", "the tax due on an invoice", "rate", "the tax rate as a Decimal fraction"),
        ("line_total(quantity, unit_price)", "the total of a single line", "quantity", "a non-negative integer"),
        ("discount_amount(subtotal, discount)", "the amount a discount takes off a subtotal", "discount", "a Decimal fraction between 0 and 1"),
        ("deposit_total(lines, deposit_rate)", "the deposit due when an order is placed", "deposit_rate", "a Decimal fraction"),
        ("balance_due(invoice, payments)", "the amount still owed on an invoice", "payments", "a list of Payment objects"),
        ("late_fee(invoice, days_late)", "the fee charged for a late payment", "days_late", "a non-negative integer"),
        ("refund_total(refunds)", "the total refunded to a customer", "refunds", "a list of Refund objects"),
        ("shipping_total(lines, zone)", "the shipping cost of an order", "zone", "one of the configured shipping zones"),
    ]
    sections = []
    for signature, what, arg, kind in functions:
        name = signature.split("(")[0]
        sections.append(
            f"### `{name}`\n\n`{signature}` returns {what} as a `Decimal`, rounded to cents with the configured "
            f"rounding mode. The `{arg}` argument is {kind}. The result is never negative; amounts are computed "
            f"in the invoice currency. Raises `ValueError` if `{arg}` is invalid.\n")
    return "# invoicer API reference\n\n" + "\n".join(sections)


def _security_release_notes() -> str:
    releases = [("2.9.3", "CVE-2025-1011", "a crafted CSV import could execute formulas in exported spreadsheets"),
                ("2.9.2", "CVE-2025-0987", "a PDF template could read files outside the template directory"),
                ("2.9.1", "CVE-2025-0931", "password reset links did not expire after use"),
                ("2.8.7", "CVE-2024-4410", "API tokens were written to the debug log"),
                ("2.8.6", "CVE-2024-4388", "the customer portal allowed listing other customers' invoices"),
                ("2.8.5", "CVE-2024-4102", "webhook signatures were compared in non-constant time")]
    return "\n\n".join(
        f"## {version}\n\nThis is a security release. It fixes {cve}: {issue}. All users of the 2.x line should "
        f"upgrade as soon as possible. More details on the vulnerability are available in the security advisory for "
        f"{cve}, and the fix has been backported to every supported release."
        for version, cve, issue in releases) + "\n"


LEGIT: list[tuple[str, str, str, str, Callable[[], str]]] = [
    ("cc-text-legit-code-repeated-lines", "claude-code", "Generate 60 handler stubs.", "Code whose functions repeat the same body lines.", _code_with_repeated_lines),
    ("codex-text-legit-markdown-table", "codex", "List the invoices as a table.", "A 120-row table, rows differing in one or two cells.", _markdown_table),
    ("gemini-text-legit-numbered-list", "gemini-cli", "Write the release checklist for every template.", "A 150-item numbered list of recurring checks.", _numbered_list),
    ("sdk-text-legit-log-lines-fenced", "openai-sdk", "Show me the worker's retry log lines.", "Repeated log lines quoted back in a code block.", lambda: _log_lines(True)),
    ("cc-text-legit-log-lines-plain", "claude-code", "Paste the worker log here.", "Repeated log lines quoted back as plain text.", lambda: _log_lines(False)),
    ("gemini-text-legit-json-array", "gemini-cli", "Dump the draft SKUs as JSON.", "A JSON array of near-identical objects.", _json_array),
    ("codex-text-legit-long-prose", "codex", "Explain the proxy's design constraints.", "Nine paragraphs on one topic, sharing vocabulary.", _long_prose),
    ("sdk-text-legit-summary-with-conclusion", "openai-sdk", "Summarise the rounding fix.", "A summary whose conclusion restates every point once.", _summary_with_conclusion),
    ("cc-text-legit-tutorial", "claude-code", "Write a getting-started tutorial.", "Eight steps with the same phrasing around different commands.", _tutorial),
    ("gemini-text-legit-changelog", "gemini-cli", "Write the 2.9.0 changelog.", "Thirty-two templated changelog lines.", _changelog),
    ("sdk-text-legit-song-with-chorus", "openai-sdk", "Write a folk song about a river.", "A song whose four-line chorus comes back five times.", _song),
    ("cc-text-legit-faq", "claude-code", "Write an FAQ for the settings pages.", "Ten FAQ entries built on the same template.", _faq),
    ("codex-text-legit-test-report", "codex", "Report the test results.", "Twenty-five near-identical result lines.", _test_report),
    ("gemini-text-legit-csv", "gemini-cli", "Export June's invoices as CSV.", "160 CSV rows.", _csv),
    ("codex-text-legit-options-compared", "codex", "How should we cache invoice PDFs?", "Four options described with the same sentence pattern.", _options_compared),
    ("cc-text-legit-code-review", "claude-code", "Review the invoicer package.", "Six review notes built on one template.", _code_review),
    ("gemini-text-legit-meeting-notes", "gemini-cli", "Write up today's stand-up.", "Per-person status lines sharing their wording.", _meeting_notes),
    ("sdk-text-legit-week-story", "openai-sdk", "Tell a short fable with one scene per weekday.", "A story whose scenes repeat one structure.", _week_story),
    ("codex-text-legit-line-by-line-math", "codex", "Show the line totals step by step.", "The same arithmetic sentence for six different lines.", _line_by_line_math),
    ("gemini-text-legit-essay-thesis-restated", "gemini-cli", "Write a short essay: when should invoices be rounded?", "An essay stating its thesis in the introduction and again in the conclusion.", _essay_thesis_restated),
    ("cc-text-legit-api-reference", "claude-code", "Document the public functions of the invoicer package.", "Reference documentation: ten functions described in the same words.", _api_reference),
    ("codex-text-legit-security-release-notes", "codex", "Write the release notes for our security releases.", "Release notes repeating the same advisory wording for six versions.", _security_release_notes),
    ("sdk-text-legit-three-explanations", "openai-sdk", "Explain recursion simply, with an analogy, then formally.", "The same concept explained three ways, as asked.", _three_explanations),
]

# ---------------------------------------------------------------- loops

EXACT: list[tuple[str, str, str, str, str, str, int]] = [
    ("cc-text-loop-paragraph", "claude-code", "Summarise the meeting.", "A paragraph repeated.", "Sure, here is the summary.\n\n", PARAGRAPH, 12),
    ("codex-text-loop-sentence", "codex", "What next?", "One sentence repeated.", "Okay.\n", "Let me check the configuration file now. ", 40),
    ("gemini-text-loop-code-line", "gemini-cli", "Write the accumulate function.", "A code line repeated inside a function.",
     "```python\ndef accumulate(values):\n    result = 0\n", "    result = result + values[0]\n", 60),
    ("sdk-text-loop-json-object", "openai-sdk", "Return the widget list as JSON.", "One JSON object repeated in an array.",
     "[\n", json.dumps({"id": 7, "name": "widget", "status": "active", "tags": ["a", "b"]}) + ",\n", 30),
    ("cc-text-loop-apology", "claude-code", "The function is still wrong.", "A short apology repeated.", "", "I apologize for the confusion. ", 40),
    ("codex-text-loop-recompute", "codex", "Is 18.5904 rounded correctly?", "A reasoning sentence repeated.",
     "Let me verify.\n", "Wait, let me recompute: 18.5904 rounds to 18.59. ", 25),
    ("gemini-text-loop-list-item", "gemini-cli", "List what to check.", "A short list item repeated.", "To check:\n", "- Check the invoice total\n", 50),
    ("sdk-text-loop-function", "openai-sdk", "Write the helper.", "A whole function repeated.", "Here it is:\n\n```python\n",
     "def quantize_total(total):\n    \"\"\"Round a total to cents.\"\"\"\n    return total.quantize(Decimal(\"0.01\"), rounding=ROUND_HALF_UP)\n\n\n"
     "def format_total(total):\n    return f\"{quantize_total(total):,.2f}\"\n\n\n", 6),
    ("cc-text-loop-table-row", "claude-code", "List the open invoices.", "The same table row repeated.",
     "| # | Invoice | Status |\n|---|---|---|\n| 41 | INV-1041 | open |\n", "| 42 | INV-1042 | open |\n", 40),
]

PARAPHRASED: list[tuple[str, str, str, str, str, list[str]]] = [
    ("cc-text-paraphrase-apology-fix", "claude-code", "The function still fails on an empty list.",
     "Apologises and promises the same fix again and again in different words.",
     "You're right, the empty case is still broken.\n\n", [
         "I apologize for the error. Let me fix the function so that it handles the empty list correctly. Here is the corrected version of the function.",
         "Sorry about that mistake. I will correct the function so it properly handles an empty list. Here's the fixed version of the function.",
         "My apologies for the error. Let me correct the function so that the empty list is handled properly. Below is the corrected function.",
         "I'm sorry for the mistake. I'll fix the function so it correctly handles the empty list case. Here is the fixed function.",
         "Apologies for the error in the function. Let me fix it so that an empty list is handled correctly. Here's the corrected version.",
         "Sorry for the error. I will fix the function to handle the empty list properly. Here is the corrected version of the function.",
         "I apologize for the mistake. Let me correct the function so it handles the empty list case properly. Here's the fixed function.",
     ]),
    ("codex-text-paraphrase-recheck-arithmetic", "codex", "Check the rounded total.",
     "Re-derives the same arithmetic over and over, worded differently each time.",
     "Let me work through the numbers.\n\n", [
         "The subtotal is 19.99 plus two times 0.333, which gives 20.656. After the ten percent discount the total is 18.5904, and rounding to cents gives 18.59.",
         "Let me double-check: two lines, 19.99 and twice 0.333, add up to a subtotal of 20.656. Taking ten percent off leaves 18.5904, which rounds to 18.59 in cents.",
         "Wait, let me verify the subtotal again. 19.99 plus 0.666 makes 20.656, the discount of ten percent brings it to 18.5904, and rounded to the cent that is 18.59.",
         "Actually, let me recompute. The subtotal: 19.99 + 2 × 0.333 = 20.656. Minus the ten percent discount: 18.5904. Rounded to cents: 18.59.",
         "Hmm, to be sure, the subtotal of 19.99 and two times 0.333 is 20.656, ten percent discount gives 18.5904, and rounding that to cents yields 18.59.",
         "Let me check once more: the lines sum to 20.656 (19.99 plus twice 0.333), applying the ten percent discount gives 18.5904, which rounds to 18.59 cents.",
         "Let me recheck the subtotal: 19.99 and two times 0.333 make 20.656; after a ten percent discount 18.5904; rounded to cents, 18.59.",
     ]),
    ("gemini-text-paraphrase-run-tests", "gemini-cli", "Is the date bug fixed?",
     "Keeps announcing the same next step in new words instead of doing it.",
     "I changed addDays to use UTC.\n\n", [
         "Now I will run the test suite to verify that the fix works. If all tests pass, the date bug is resolved.",
         "Next, I'm going to execute the tests to confirm the fix works. If every test passes, the bug with dates is resolved.",
         "I will now run the tests to check that the change fixes the problem. When all the tests pass, the date bug is fixed.",
         "Let me run the test suite now to confirm the fix. If the tests all pass, then the date bug has been resolved.",
         "Now let me execute the test suite to verify the fix works correctly. If all of the tests pass, the date bug is resolved.",
         "I am going to run the tests now to verify the fix. Should all tests pass, the date problem is resolved.",
         "Next I will run the test suite to confirm that the fix works. If the tests pass, the date bug is resolved.",
     ]),
    ("sdk-text-paraphrase-support-refund", "openai-sdk", "Where is my refund for A-1002?",
     "A support answer saying the same thing over and over, reworded.", "", [
         "I'm sorry, but I couldn't find a refund for order A-1002. Please double-check the order number and try again, or contact support for more help.",
         "Unfortunately, I was not able to find any refund for order A-1002. Please verify the order number and try again, or reach out to support for further help.",
         "I apologize, but there is no refund on record for order A-1002. Please check the order number again, or contact our support team for more help.",
         "Sorry, I could not locate a refund for order A-1002. Could you double-check the order number and try again? You can also contact support for help.",
         "Regrettably, I couldn't find a refund for order A-1002. Please confirm the order number and try again, or contact support if you need more help.",
         "I'm sorry, no refund was found for order A-1002. Please check the order number and try again, or get in touch with support for more help.",
         "Unfortunately there is no refund for order A-1002 that I can find. Please double-check the order number, or contact support for further help.",
     ]),
    ("cc-text-paraphrase-plan", "claude-code", "Fix the rounding bug.",
     "Restates the same three-step plan again and again instead of acting.", "", [
         "First, I'll read the totals module. Then I'll update the rounding logic. Finally, I'll run the tests to make sure everything passes.",
         "My plan: start by reading the totals module, next update the rounding logic, and finally run the tests to verify everything passes.",
         "To begin, I will read the totals module. After that I'll change the rounding logic. Lastly, I'll run the tests and confirm they pass.",
         "Here's what I'll do: read the totals module first, then fix the rounding logic, and run the tests at the end to make sure they pass.",
         "I'll start by reading the totals module, then update the rounding logic, and finally run the tests to check that everything passes.",
         "Plan: first read the totals module; second, update the rounding logic; third, run the tests to verify that they all pass.",
         "First step, read the totals module. Second, update the rounding logic. Last, run the tests to make sure everything passes.",
     ]),
    ("codex-text-paraphrase-diagnosis", "codex", "Why does the empty invoice fail?",
     "Explains the same cause again and again in different words.", "Found it.\n\n", [
         "The issue is that sum() starts from the integer 0, so an empty invoice returns an int, which has no quantize method. To fix this, pass Decimal('0') as the start value of sum().",
         "The problem is that sum() begins at integer 0, so for an empty invoice it returns an int without a quantize method. The fix is to give sum() a start value of Decimal('0').",
         "This happens because sum() uses the integer 0 as its start, so an empty invoice yields an int, and int has no quantize method. Passing Decimal('0') as the start value of sum() fixes it.",
         "The root cause: sum() starts at the int 0, so with an empty invoice the result is an int lacking quantize. To fix it, use Decimal('0') as the start value for sum().",
         "So the bug is that sum() starts from integer 0; an empty invoice therefore returns an int, which doesn't have quantize. The solution is passing Decimal('0') as sum()'s start value.",
         "In other words, sum() starts with the integer 0, so an empty invoice gives back an int that has no quantize method. Give sum() the start value Decimal('0') to fix this.",
         "The failure is because sum() starts from 0 as an integer, so the empty invoice returns an int with no quantize method. Fix it by passing Decimal('0') as the start value of sum().",
     ]),
    ("gemini-text-paraphrase-thinking-config", "gemini-cli", "Why is the locale wrong?",
     "Keeps suspecting the same config file in different words.", "Let me think about where the locale comes from.\n\n", [
         "Maybe the issue is in the config file, where the locale is set to en-GB. I should look at the config file to see how the locale is defined.",
         "Perhaps the problem is the locale setting in the config file, which says en-GB. Let me look at how the config file defines the locale.",
         "It could be that the config file sets the locale to en-GB and that causes this. I need to check how the locale is defined in the config file.",
         "Possibly the locale defined as en-GB in the config file is the cause. I'll look at the config file and see how it sets the locale.",
         "The issue might be the config file, since the locale there is en-GB. Let me check the config file to see how the locale gets defined.",
         "Maybe the config file is the problem because it sets the locale to en-GB. I should check how the locale is defined in that config file.",
         "Perhaps the locale is wrong because the config file defines it as en-GB. Let me look at the config file to check the locale definition.",
     ]),
    ("sdk-text-paraphrase-cannot-access", "openai-sdk", "Open the dashboard and tell me the revenue.",
     "Says it cannot access the dashboard, again and again, reworded.", "", [
         "I don't have access to your dashboard, so I can't see the revenue figures. If you paste the numbers here, I can help you analyze them.",
         "Unfortunately I cannot access your dashboard and therefore can't read the revenue. Paste the figures here and I will help you analyze them.",
         "As I can't open your dashboard, I'm unable to see the revenue numbers. If you share the figures here, I'd be glad to help analyze them.",
         "I'm not able to access the dashboard, so the revenue figures aren't visible to me. You can paste the numbers here and I'll help analyze them.",
         "Since I have no access to your dashboard, I can't check the revenue. Please paste the revenue figures here and I can help you analyze them.",
         "I can't reach your dashboard, which means I can't see the revenue. If you paste those numbers here, I will help you analyze them.",
         "Your dashboard isn't accessible to me, so I cannot read the revenue figures. Paste the numbers and I can help analyze them for you.",
     ]),
    ("codex-text-paraphrase-next-step", "codex", "Continue.",
     "Announces the same next step over and over without taking it.", "", [
         "Next, I'll update the export module so that amounts use a dot as the decimal separator, and then rerun the CSV export test.",
         "The next step is to change the export module to format amounts with a dot as decimal separator, then run the CSV export test again.",
         "Now I will modify the export module so amounts are written with a dot decimal separator, and after that rerun the CSV export test.",
         "I'm going to update the export module to write amounts using a dot as the decimal separator, then run the CSV export test once more.",
         "Let me now change the export module so that the decimal separator for amounts is a dot, and then rerun the CSV export test.",
         "Next step: update the export module to use a dot as the decimal separator in amounts, then run the CSV export test again.",
         "I'll now update the export module so amounts use a dot for the decimal separator and rerun the CSV export test afterwards.",
     ]),
]


def _required_copies(block: str) -> int:
    if len(block) >= 100:
        return 3
    if len(block) >= 30:
        return 4
    return max(8, -(-160 // len(block)))


def build_text_scenarios(text_case: TextCase) -> None:
    for name, client, prompt, description, make in LEGIT:
        text_case(name, client, "legitimate", description, prompt, make())
    for name, client, prompt, description, preface, block, copies in EXACT:
        answer = preface + block * copies
        start = len(preface)
        stop_by = min(len(answer), start + (_required_copies(block) + 1) * len(block) + 64)
        text_case(name, client, "text_loop", description, prompt, answer, loop_start=start, stop_by=stop_by,
                  unit=len(block))
    rng = random.Random(7)
    for name, client, prompt, description, preface, variants in PARAPHRASED:
        separator = "\n\n" if rng.random() < 0.5 else " "
        pieces = [preface]
        ends = []
        for variant in variants:
            pieces.append(variant + separator)
            ends.append(sum(map(len, pieces)))
        answer = "".join(pieces)
        # Stopped by the end of the fifth rewording at the latest.
        text_case(name, client, "text_loop", description, prompt, answer, loop_start=len(preface), stop_by=ends[4],
                  unit=(ends[-1] - len(preface)) // len(variants), paraphrased=True)


__all__: list[Any] = ["build_text_scenarios"]
