"""`pledgebox campaign create --school …`: the schools typed as in the app's wizard."""

from pathlib import Path

import pytest

from organizer import campaigns, cli
from tests.support.factories import PASSPHRASE, make_coalition
from tests.support.live import LiveServer


def test_schools_with_spanish_names_from_the_command_line(live_server: LiveServer, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    org = make_coalition(tmp_path, live_server.base_url)
    monkeypatch.setenv("PLEDGEBOX_PASSPHRASE", PASSPHRASE)
    code = cli.main(["--keystore", str(org.keystore), "campaign", "create", "--title", "Walkout",
                     "--action-date", "2031-03-05", "--closes", "2031-03-04",
                     "--delete-after", "2031-03-12", "--school", "Covina High | Preparatoria Covina",
                     "--school", "Northview High", "--threshold", "10"])
    assert code == 0, capsys.readouterr().err
    campaign_id = capsys.readouterr().out.splitlines()[0].split("/p/")[1].split("#")[0]
    d = campaigns.find(org.session, campaign_id)["descriptor"]
    school = d["fields"][0]
    assert [o["label"] for o in school["options"]] == [
        {"en": "Covina High", "es": "Preparatoria Covina"}, {"en": "Northview High"}]
    assert school["required"] is True
    assert d["threshold"] == {"field": "school", "count": 10}
    assert [f["id"] for f in d["fields"]] == ["school", "help"]
