"""The whole app, 10 simulated minutes of bus traffic on the MicroPython VM, in a heap of its
modules' footprint + 48 KiB: no MemoryError, the heap does not creep, the bus stays right."""

from tools.bench import bench_board


def test_ten_minutes_of_bus_traffic_in_48k_of_app_heap():
    r = bench_board.run_app(10)  # raises with the VM's output on a MemoryError
    assert r["simulated_s"] == 600 and r["syncs"] == 30000
    assert r["app_heap_high_water"] <= bench_board.APP_HEAP_BYTES
    assert r["wrong_frame_no"] == 0 and r["collisions"] == 0
    assert 0 <= r["response_min_ms"] <= r["response_max_ms"] <= 3
    assert r["multi_version"] == 491
    assert r["low_cell_cycles"] == 10 and r["switch_frames"] >= 20
    assert r["status_frames"] >= 300  # one a second while the Multi runs, fewer in low power
