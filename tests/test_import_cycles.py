"""No module of wavefront imports itself through others, imports inside functions and
under TYPE_CHECKING included. The layers contract (`lint-imports`) checks the layers; this
checks the modules within each layer too."""

from __future__ import annotations

import grimp


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("wavefront")
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.append(" -> ".join((module, *back)))
    assert not cycles, "\n".join(cycles)
    assert len(graph.modules) > 100  # the whole package was read
