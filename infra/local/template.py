"""Reads template.yaml, the one description of the system, for the local stack: functions with their merged
Globals, their HTTP routes and event sources, and a resolver for the intrinsic functions the template uses."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax: /r/{token}, /webhooks/sources/{source}
    function: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        pattern = re.sub(r"\\{(\w+)\\\+\\}", r"(?P<\1>.+)", re.escape(self.path))
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class EventSource:
    function: str
    kind: str  # DynamoDB | SQS | Schedule | ScheduleV2
    properties: dict[str, Any]
    name: str = ""  # the event's name in the template (Feeds, EveryMinute)


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    environment: dict[str, Any] = field(default_factory=dict)


@dataclass
class Template:
    document: dict[str, Any]
    functions: dict[str, FunctionSpec]
    routes: list[Route]
    event_sources: list[EventSource]

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.document.get("Resources", {}))

    def parameter_defaults(self) -> dict[str, Any]:
        return {
            name: spec.get("Default")
            for name, spec in self.document.get("Parameters", {}).items()
            if "Default" in spec
        }


def load_template(path: Path = TEMPLATE_PATH) -> Template:
    # Imported here: the gateway's event building (used by the benchmarks in a Lambda-like interpreter)
    # needs Route but not the YAML reader.
    from samtranslator.plugins.globals.globals import Globals
    from samtranslator.yaml_helper import yaml_parse

    document = yaml_parse(path.read_text())
    # SAM's own merge of Globals into each function (maps merged, the function's value winning), as deployed.
    function_globals = Globals(document)
    functions: dict[str, FunctionSpec] = {}
    routes: list[Route] = []
    event_sources: list[EventSource] = []
    for logical_id, resource in document.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = function_globals.merge(resource["Type"], resource.get("Properties", {}), logical_id)
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=path.parent / properties["CodeUri"],
            handler=properties["Handler"],
            timeout=int(properties.get("Timeout", 3)),  # Lambda's default
            environment=dict(properties.get("Environment", {}).get("Variables", {})),
        )
        for event_name, event in properties.get("Events", {}).items():
            event_properties = event.get("Properties", {})
            if event["Type"] == "HttpApi":
                routes.append(Route(event_properties["Method"].upper(), event_properties["Path"], logical_id))
            else:
                event_sources.append(EventSource(logical_id, event["Type"], event_properties, event_name))
    # Most specific first, as API Gateway matches: literal segments beat {parameters}.
    routes.sort(key=lambda r: (r.path.count("{"), -len(r.path)))
    return Template(document, functions, routes, event_sources)


@dataclass
class Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If, Fn::Equals, Fn::Not, Fn::Select and Fn::Split
    against the local stack's parameters and physical resources."""

    parameters: dict[str, Any]
    refs: dict[str, str]
    attributes: dict[str, str]  # "Logical.Attribute" -> value
    conditions: dict[str, Any] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = getattr(self, "_" + key.replace("::", "_").replace("Fn_", "fn_"), None)
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                if handler is None:
                    raise ValueError(f"the local stack does not support {key}")
                return handler(argument)
        return {k: self.resolve(v) for k, v in value.items()}

    def _Ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"Ref {name}: not a parameter or a resource the local stack creates")

    def _fn_GetAtt(self, argument: Any) -> Any:
        logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        key = f"{logical}.{attribute}"
        if key not in self.attributes:
            raise KeyError(f"Fn::GetAtt {key}: not known to the local stack")
        return self.attributes[key]

    def _fn_Sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {k: self.resolve(v) for k, v in variables.items()}

        def replace(found: re.Match[str]) -> str:
            name = found.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._fn_GetAtt(name))
            return str(self._Ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def _fn_Join(self, argument: Any) -> str:
        separator, items = argument
        return separator.join(str(v) for v in self.resolve(items))

    def _fn_Select(self, argument: Any) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve(index))]

    def _fn_Split(self, argument: Any) -> list[str]:
        separator, text = argument
        return str(self.resolve(text)).split(separator)

    def _fn_Equals(self, argument: Any) -> bool:
        left, right = self.resolve(argument)
        return bool(str(left) == str(right))

    def _fn_Not(self, argument: Any) -> bool:
        return not self.resolve(argument[0])

    def _fn_And(self, argument: Any) -> bool:
        return all(self.resolve(argument))

    def _fn_Or(self, argument: Any) -> bool:
        return any(self.resolve(argument))

    def _Condition(self, name: str) -> bool:
        return bool(self.resolve(self.conditions[name]))

    def _fn_If(self, argument: Any) -> Any:
        condition, when_true, when_false = argument
        return self.resolve(when_true if self._Condition(condition) else when_false)
