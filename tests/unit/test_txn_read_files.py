"""snapshot.read_files (the reference files a transaction keeps: libvirt's status files)
resolves each directory once: it must answer exactly what read_file answers file by file."""

import os

import pytest

from vnetmigrate.txn import snapshot


def _root(tmp_path):
    root = tmp_path / "root"
    status = root / "run/libvirt/network"
    status.mkdir(parents=True)
    for i in range(5):
        (status / f"net{i}.xml").write_text(f"<networkstatus>{i}</networkstatus>\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/x.xml").write_text("outside\n")
    os.symlink(tmp_path / "elsewhere", root / "run/away")  # a directory leading out of --root
    os.symlink("net0.xml", status / "link.xml")              # a file link inside: read through
    (status / "latin1.xml").write_bytes(b"caf\xe9\n")
    return root


def _each(root, paths):
    out = {}
    for p in paths:
        try:
            out[p] = snapshot.read_file(root, p)
        except snapshot.FileUnusable as exc:
            out[p] = exc.message
    return out


def test_read_files_answers_what_read_file_answers(tmp_path):
    root = _root(tmp_path)
    paths = [f"/run/libvirt/network/net{i}.xml" for i in range(5)] + [
        "/run/libvirt/network/absent.xml", "/run/libvirt/network/link.xml"]
    assert snapshot.read_files(root, paths) == _each(root, paths)
    assert snapshot.read_files(root, paths)["/run/libvirt/network/net3.xml"] == "<networkstatus>3</networkstatus>\n"


@pytest.mark.parametrize("path", ["/run/away/x.xml", "/run/libvirt/network/latin1.xml", "/run/../etc/passwd"])
def test_read_files_refuses_what_read_file_refuses(tmp_path, path):
    root = _root(tmp_path)
    with pytest.raises(snapshot.FileUnusable) as many:
        snapshot.read_files(root, ["/run/libvirt/network/net0.xml", path])
    assert many.value.message == _each(root, [path])[path]
