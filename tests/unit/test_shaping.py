"""Link shaping: rates, the tc commands, and a topology link's third item."""

from pathlib import Path

import pytest

from testbed import shaping, topology
from testbed.errors import InputError

LINE = Path(__file__).resolve().parents[2] / "experiments" / "forwarding" / "line.yaml"


@pytest.mark.parametrize("rate, bps", [("10mbit", 10e6), ("512kbit", 512e3),
                                       ("1.5gbit", 1.5e9), ("1mbps", 8e6)])
def test_rates_read_as_tc_reads_them(rate, bps):
    assert shaping.bits_per_second(rate) == bps


def test_a_malformed_rate_is_an_input_error():
    with pytest.raises(InputError, match="bad rate"):
        shaping.bits_per_second("fast")


def test_a_rate_is_a_token_bucket_and_delay_needs_netem():
    assert shaping.commands("eth0", rate="10mbit").startswith(
        "tc qdisc replace dev eth0 root tbf rate 10000000bit")
    assert " netem delay 10ms" in shaping.commands("eth0", delay="10ms")


def test_a_link_takes_its_shaping_as_a_third_item(tmp_path):
    path = tmp_path / "line.yaml"
    path.write_text(LINE.read_text().replace("- [h1:eth0, dut:eth0]",
                                             "- [h1:eth0, dut:eth0, {rate: 10mbit}]"))
    topo = topology.load(path)
    assert topo.links[0] == ("h1:eth0", "dut:eth0")
    assert topo.shaping == {("h1:eth0", "dut:eth0"): topology.Shaping(rate="10mbit")}
    assert topology.load(LINE).shaping == {}


def test_a_bad_rate_in_a_topology_is_one_input_error(tmp_path):
    path = tmp_path / "line.yaml"
    path.write_text(LINE.read_text().replace("- [h1:eth0, dut:eth0]",
                                             "- [h1:eth0, dut:eth0, {rate: fast}]"))
    with pytest.raises(InputError, match="line.yaml:29: links/0/2/rate: .fast. is not a rate"):
        topology.load(path)
