"""A real MCP client for tcp/tests/mcp.rs: the official Python SDK (`mcp` on PyPI).

Reads a plan from standard input:

    {"command": "/path/to/tcp", "args": ["mcp", "--db", "kb.db"], "cwd": "/tmp/x",
     "calls": [{"name": "check_command", "arguments": {"command": "ls -l"}}, ...]}

starts the server through the SDK's stdio transport, initializes the session, lists the
tools, checks every call's arguments against the tool's input schema (jsonschema,
which the SDK depends on) when the plan says they are valid, makes the calls in order
and prints one JSON object:

    {"server": {...}, "tools": [{"name", "description", "inputSchema", ...}],
     "calls": [{"name", "isError", "structured", "text", "schema_ok"} | {"name", "protocol_error"}]}

Exit status 0 when the session ran (whatever the tools answered), 1 otherwise.
"""

import json
import sys

import anyio
import jsonschema
from mcp import ClientSession, StdioServerParameters, stdio_client

try:  # mcp 2.x
    from mcp.shared.exceptions import MCPError
except ImportError:  # mcp 1.x
    from mcp.shared.exceptions import McpError as MCPError


async def run(plan):
    params = StdioServerParameters(
        command=plan["command"], args=plan["args"], cwd=plan.get("cwd"), env=plan.get("env")
    )
    out = {"calls": []}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            out["server"] = init.model_dump(mode="json", by_alias=True, exclude_none=True)
            listed = await session.list_tools()
            tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
            out["tools"] = tools
            schemas = {t["name"]: t["inputSchema"] for t in tools}
            for call in plan["calls"]:
                name, args = call["name"], call.get("arguments", {})
                entry = {"name": name}
                if call.get("valid", True) and name in schemas:
                    try:
                        jsonschema.validate(args, schemas[name])
                        entry["schema_ok"] = True
                    except jsonschema.ValidationError as e:
                        entry["schema_ok"] = False
                        entry["schema_error"] = e.message
                try:
                    r = await session.call_tool(name, args)
                except MCPError as e:
                    entry["protocol_error"] = str(e)
                    out["calls"].append(entry)
                    continue
                entry["isError"] = bool(r.is_error)
                entry["structured"] = r.structured_content
                entry["text"] = "".join(c.text for c in r.content if getattr(c, "type", "") == "text")
                out["calls"].append(entry)
    return out


def main():
    plan = json.load(sys.stdin)
    try:
        out = anyio.run(run, plan)
    except BaseException as e:  # noqa: BLE001 - report anything, the Rust test decides
        print(f"mcp_client: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
