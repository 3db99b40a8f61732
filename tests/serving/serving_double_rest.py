"""REST half of the TF Serving TEST DOUBLE (see `serving_double.py`).

Follows TF Serving's `g3doc/api_rest.md` and its sources:
`model_servers/http_rest_api_util.cc` (URL patterns, JSON of status and
metadata), `http_rest_api_handler.cc` (dispatch, "Serving signature name"
check) and `http_server.cc` (`ToHTTPStatusCode`): the routes, the status,
metadata and predict handlers, and the HTTP server. Request and response JSON
(`util/json_tensor.cc`) are in `serving_double_json.py` and
`serving_double_json_output.py`.
"""

import http.server
import json
import re
import threading
import urllib.parse

import grpc
from google.protobuf import json_format
from serving_double import DEFAULT_SIGNATURE, predict
from serving_double_json import parse_predict_request
from serving_double_json_output import columnar_format_json, row_format_json
from serving_double_models import ModelSpec, ServingError, invalid_argument
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2, model_pb2

# `ToHTTPStatusCode` in model_servers/http_server.cc.
HTTP_STATUS_FOR_CODE = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
# kPredictionApiGegex and kModelStatusApiRegex in http_rest_api_util.cc.
PREDICT_PATH = re.compile(
    r"/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)",
    re.IGNORECASE,
)
STATUS_PATH = re.compile(
    r"/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:/(metadata))?",
    re.IGNORECASE,
)
API_PATH = re.compile(r"/v1/.*", re.IGNORECASE)


# ---------------------------------------------------------------- the handlers


def spec_from_path(name, version, label):
    """`ParseModelInfo` + `FillModelSpecWithNameVersionAndLabel`."""
    model_version = None
    if version:
        model_version = int(version)
        if model_version >= 2**63:
            raise invalid_argument(f"Failed to convert version: {version} to numeric.")
    return ModelSpec(
        urllib.parse.unquote(name or ""),
        model_version,
        urllib.parse.unquote(label) if label else None,
    )


def status_json(repository, spec):
    """`ProcessModelStatusRequest`: GetModelStatusResponse as JSON."""
    if not spec.name:
        raise invalid_argument("Missing model name in request.")
    response = get_model_status_pb2.GetModelStatusResponse()
    for version, state in repository.model_status(spec.name, spec.version):
        status = response.model_version_status.add(version=version, state=state)
        status.status.SetInParent()
    return json.dumps(
        json_format.MessageToDict(response, always_print_fields_with_no_presence=True), indent=1
    )


def metadata_json(repository, spec):
    """`ProcessModelMetadataRequest`: model_spec and the SignatureDefMap as JSON."""
    if not spec.name:
        raise invalid_argument("Missing model name in request.")
    servable = repository.resolve(spec)
    model_spec = model_pb2.ModelSpec(name=servable.name)
    model_spec.version.value = servable.version
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, signature in servable.signature_defs.items():
        signature_map.signature_def[key].CopyFrom(signature)
    options = {"always_print_fields_with_no_presence": True, "preserving_proto_field_name": True}
    return json.dumps(
        {
            "model_spec": json_format.MessageToDict(model_spec, **options),
            "metadata": {"signature_def": json_format.MessageToDict(signature_map, **options)},
        },
        indent=1,
    )


def predict_json(repository, spec, body):
    """`ProcessPredictRequest`: JSON request in, JSON response out."""

    def get_input_infos(signature_name):
        servable = repository.resolve(spec)
        key = signature_name or DEFAULT_SIGNATURE
        if key not in servable.signature_defs:
            raise invalid_argument(f'Serving signature name: "{key}" not found in signature def')
        return servable.signature_defs[key].inputs

    signature_name, request_format, tensors = parse_predict_request(body, get_input_infos)
    outputs = predict(repository, spec, signature_name, tensors).outputs
    return row_format_json(outputs) if request_format == "row" else columnar_format_json(outputs)


def handle_request(repository, method, path, body):
    """`HttpRestApiHandler::ProcessRequest`; returns `(http status, JSON text)`."""
    try:
        if method == "POST" and PREDICT_PATH.fullmatch(path):
            name, version, label, verb = PREDICT_PATH.fullmatch(path).groups()
            spec = spec_from_path(name, version, label)
            if verb == "predict":
                return 200, predict_json(repository, spec, body)
            if verb in ("classify", "regress"):
                raise ServingError(
                    grpc.StatusCode.UNIMPLEMENTED, f"The TF Serving test double has no :{verb}"
                )
        if method == "GET" and STATUS_PATH.fullmatch(path):
            name, version, label, metadata = STATUS_PATH.fullmatch(path).groups()
            spec = spec_from_path(name, version, label)
            if metadata:
                return 200, metadata_json(repository, spec)
            return 200, status_json(repository, spec)
        raise invalid_argument(f"Malformed request: {method} {path}")
    except ServingError as error:
        return HTTP_STATUS_FOR_CODE[error.code], json.dumps({"error": error.message})
    except Exception as error:  # pylint: disable=broad-except
        # A bug in the double, not TF Serving behaviour: answer INTERNAL rather than hang up.
        return 500, json.dumps({"error": f"TF Serving test double internal error: {error!r}"})


class _RestHandler(http.server.BaseHTTPRequestHandler):
    """Routes `/v1/...` requests to `handle_request`; other paths get 404."""

    repository = None
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._respond("GET")

    def do_POST(self):  # noqa: N802
        self._respond("POST")

    def do_PUT(self):  # noqa: N802 (a /v1/ path answers "Malformed request", as in TF Serving)
        self._respond("PUT")

    def do_DELETE(self):  # noqa: N802
        self._respond("DELETE")

    def _respond(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(self.path).path
        if API_PATH.fullmatch(path):
            status, text = handle_request(self.repository, method, path, body)
        else:
            status, text = 404, ""
        payload = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Keeps test output quiet."""


def start_rest_server(repository):
    """Starts a `ThreadingHTTPServer` on a free port of 127.0.0.1, in a daemon thread.

    Returns:
        The running server; `server_address[1]` is its port.
    """
    handler = type("RestHandler", (_RestHandler,), {"repository": repository})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="serving-double-rest", daemon=True).start()
    return server
