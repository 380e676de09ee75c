import numpy as np
import pytest

from loader.mot import MotFormatError, parse_mot_lines, read_mot, write_mot


def test_round_trip(tmp_path):
    rows = np.array([[3, 2, 10.5, 20.25, 30, 40, 0.75, -1, -1, -1],
                     [1, 7, 0.125, 1.5, 2.5, 3.5, 1, 1, 0.5, -1]])
    write_mot(tmp_path / "a.txt", rows, precision=3)
    back = read_mot(tmp_path / "a.txt")
    assert back.shape == (2, 10)
    np.testing.assert_allclose(back, rows[[1, 0]])  # sorted by frame


def test_whitespace_blank_lines_and_short_rows_padded():
    rows = parse_mot_lines(["1 2 3 4 5 6", "", "  2,3,4,5,6,7,0.5  ", "3\t4\t1e+01\t1\t2\t3\t1\t1\t1\t-1\t9"])
    assert rows.shape == (3, 11)
    np.testing.assert_array_equal(rows[0, 6:], -1)  # optional columns not given
    assert rows[1, 6] == 0.5 and rows[2, 2] == 10.0 and rows[2, 10] == 9


def test_empty_file(tmp_path):
    (tmp_path / "e.txt").write_text("\n\n")
    assert read_mot(tmp_path / "e.txt").shape == (0, 10)


def test_integer_valued_floats_accepted():
    rows = parse_mot_lines(["1.0,2.0,1,1,1,1"])
    assert rows[0, 0] == 1 and rows[0, 1] == 2


@pytest.mark.parametrize("line, problem", [
    ("1,2,3,4,5", "expected at least 6 columns, got 5"),
    ("1,2,x,4,5,6", "non-numeric x field 'x'"),
    ("1,2,3,4,5,6,abc", "non-numeric conf field 'abc'"),
    ("1,2,3,4,-5,6", "w must be positive"),
    ("1,2,3,4,5,0", "h must be positive"),
    ("1.5,2,3,4,5,6", "non-integer frame 1.5"),
    ("1,2.5,3,4,5,6", "non-integer id 2.5"),
    ("-1,2,3,4,5,6", "negative frame -1"),
    ("1,2,nan,4,5,6", "non-finite value"),
])
def test_malformed_rows_name_file_line_and_problem(tmp_path, line, problem):
    path = tmp_path / "bad.txt"
    path.write_text("1,1,1,1,1,1\n\n" + line + "\n4,1,1,1,1,1\n")
    with pytest.raises(MotFormatError) as err:
        read_mot(path)
    assert err.value.line == 3
    assert str(err.value).startswith(f"{path}:3: ")
    assert problem in str(err.value)


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_mot(tmp_path / "nope.txt")


def test_crash_during_write_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "res.txt"
    write_mot(path, np.array([[1, 1, 1, 1, 1, 1]]))
    before = path.read_text()

    import loader.mot as mot

    def broken(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(mot, "format_mot", broken)
    with pytest.raises(RuntimeError):
        write_mot(path, np.array([[2, 2, 2, 2, 2, 2]]))
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res.txt"]  # no temporary left


def test_atomic_open_removes_temporary_on_error(tmp_path):
    from atomic import atomic_open
    with pytest.raises(ValueError):
        with atomic_open(tmp_path / "out.txt") as f:
            f.write("half")
            raise ValueError("crash")
    assert list(tmp_path.iterdir()) == []


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    write_mot(tmp_path / "r.txt", np.array([[1, 1, 1, 1, 1, 1]]))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "r.txt").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("content, line, column", [
    (b"1,1,0,0,10,10,1,-1,-1,-1\r\n2,1,0,0,10,\xe9,1\r\n", 2, 12),  # Latin-1 in a CRLF file
    (b"1,1,0,0,10,10\n\n3,\xe9", 3, 3),  # after a blank line, no newline at the end
    (b"\xff\xfe1\x002\x00", 1, 1),  # UTF-16
])
def test_non_utf8_byte_names_file_line_and_byte(tmp_path, content, line, column):
    path = tmp_path / "res.txt"
    path.write_bytes(content)
    with pytest.raises(MotFormatError) as err:
        read_mot(path)
    assert str(err.value).startswith(f"{path}:{line}: byte 0x{content.splitlines()[line - 1][column - 1]:02x} "
                                     f"at column {column} is not UTF-8")
