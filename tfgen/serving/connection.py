"""`connect(address)`: a REST or gRPC client for a model server."""

from tfgen.serving.client import DEFAULT_TIMEOUT


def connect(address, grpc=False, timeout=DEFAULT_TIMEOUT):
    """A client for the model server at `address`.

    Args:
        address: `"host:port"` (REST also takes `"http://host:port"`); TF Serving's
            defaults are 8501 for REST and 8500 for gRPC.
        grpc: use the gRPC API (`GrpcClient`) instead of REST (`RestClient`).
        timeout: seconds per request.

    Returns:
        A `RestClient` or a `GrpcClient`.
    """
    if grpc:
        from tfgen.serving.grpc_client import GrpcClient

        return GrpcClient(address, timeout=timeout)
    from tfgen.serving.rest_client import RestClient

    return RestClient(address, timeout=timeout)
