"""compute_asset_version against DESIGN.md "Versions" vectors."""

import unittest

from marie_cp import FRAMED, MARIE_COMPAT, compute_asset_version

ARGS = (b"Hello World", "git:abcd1234", "craft-ocr-v2", ["v:sha256:bb", "v:sha256:aa"])


class VersionTest(unittest.TestCase):
    def test_framed_vector(self) -> None:
        self.assertEqual(
            compute_asset_version(*ARGS),
            "v:sha256:d25e97edc4041c6b744404841e2ec72ea94913d0f6ce8718cf2fb9b3e176917b",
        )
        self.assertEqual(compute_asset_version(*ARGS, scheme=FRAMED), compute_asset_version(*ARGS))

    def test_marie_compat_vector(self) -> None:
        self.assertEqual(
            compute_asset_version(*ARGS, scheme=MARIE_COMPAT),
            "v:sha256:327cba6a8ccbbd151f6c7493da7951346ae5d97786bd1985598f88942fd0bb24",
        )

    def test_all_empty_framed_vector(self) -> None:
        want = "v:sha256:b7af3a56eefc2bd520d0b49c1bc8fd58264d79f5e6cc86627c7576b970650b09"
        self.assertEqual(compute_asset_version(None, None, None, None), want)
        self.assertEqual(compute_asset_version(b"", "", "", []), want)

    def test_upstream_order_and_duplicates_do_not_matter_framed(self) -> None:
        a = compute_asset_version(b"x", "c", None, ["v:sha256:aa", "v:sha256:bb"])
        b = compute_asset_version(b"x", "c", None, ["v:sha256:bb", "v:sha256:aa", "v:sha256:aa"])
        self.assertEqual(a, b)

    def test_framed_is_unambiguous_where_marie_compat_is_not(self) -> None:
        self.assertNotEqual(compute_asset_version(b"ab", "c"), compute_asset_version(b"a", "bc"))
        self.assertEqual(
            compute_asset_version(b"ab", "c", scheme=MARIE_COMPAT),
            compute_asset_version(b"a", "bc", scheme=MARIE_COMPAT),
        )

    def test_text_payload_is_utf8(self) -> None:
        self.assertEqual(compute_asset_version("Hello World", *ARGS[1:]), compute_asset_version(*ARGS))

    def test_unknown_scheme(self) -> None:
        with self.assertRaises(ValueError):
            compute_asset_version(b"", scheme="SHA1")


if __name__ == "__main__":
    unittest.main()
