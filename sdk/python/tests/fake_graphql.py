"""The SDK's own tests use the fake the SDK ships (marie_cp.testing), with one key ("stale")
whose write answers CONFLICT."""

from marie_cp.testing import TOKEN, FakeControlPlane

__all__ = ["TOKEN", "FakeGraphQL"]


class FakeGraphQL(FakeControlPlane):
    def __init__(self, token: str = TOKEN):
        super().__init__(token, conflict_keys={"stale"})
