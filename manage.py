#!/usr/bin/env python
"""Django's command-line utility for administrative tasks (``llm-proxy`` is the same, installed).

``--config FILE`` (anywhere on the command line, for any command) names the proxy's configuration
file, as ``LLM_PROXY_CONFIG`` does; a file that does not validate, or any setting that cannot be
used, stops here with one line per problem (``proxy.yaml:12: backends.local: ...``) and exit status 2.
"""

import sys

from llmproxy_site.cli import run_management

if __name__ == "__main__":
    run_management(sys.argv)
