import {
  Background,
  Controls,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  ViewportPortal,
  type Connection,
  type Edge,
  type EdgeChange,
  type Node,
  type NodeChange,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useDoc, useOthers, useProvider } from '@tandem/react';
import { useMemo, useRef, useState, type PointerEvent } from 'react';
import { BoardModel, useBoardState } from './board-model.js';

// Positions go to the document at most this often while dragging (the server rate-limits updates).
const MOVE_WRITE_MS = 50;

export function Board() {
  return (
    <ReactFlowProvider>
      <BoardCanvas />
    </ReactFlowProvider>
  );
}

function BoardCanvas() {
  const doc = useDoc();
  const provider = useProvider();
  const model = useMemo(() => new BoardModel(doc), [doc]);
  const board = useBoardState(model);
  const flow = useReactFlow();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [dragging, setDragging] = useState<Record<string, { x: number; y: number }>>({});
  const lastWrite = useRef(new Map<string, number>());
  const pointerFrame = useRef<number | null>(null);

  const nodes: Node[] = board.nodes.map((n) => ({
    id: n.id,
    position: dragging[n.id] ?? { x: n.x, y: n.y },
    data: { label: n.label || ' ' },
    selected: selected.has(n.id),
  }));
  const edges: Edge[] = board.edges.map((e) => ({ ...e, selected: selected.has(e.id) }));
  const selectedNodes = board.nodes.filter((n) => selected.has(n.id));

  const select = (id: string, on: boolean): void =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });

  const onNodesChange = (changes: NodeChange[]): void => {
    const removed: string[] = [];
    for (const change of changes) {
      if (change.type === 'select') select(change.id, change.selected);
      if (change.type === 'remove') removed.push(change.id);
      if (change.type !== 'position') continue;
      const { id } = change;
      if (change.position) {
        const position = change.position;
        setDragging((d) => ({ ...d, [id]: position }));
        const now = Date.now();
        if (now - (lastWrite.current.get(id) ?? 0) >= MOVE_WRITE_MS) {
          lastWrite.current.set(id, now);
          model.move(id, position.x, position.y);
        }
      }
      if (change.dragging === false) {
        setDragging((d) => {
          const final = change.position ?? d[id];
          if (final) model.move(id, final.x, final.y);
          const { [id]: _done, ...rest } = d;
          return rest;
        });
        lastWrite.current.delete(id);
      }
    }
    if (removed.length) model.remove(removed);
  };
  const onEdgesChange = (changes: EdgeChange[]): void => {
    const removed: string[] = [];
    for (const change of changes) {
      if (change.type === 'select') select(change.id, change.selected);
      if (change.type === 'remove') removed.push(change.id);
    }
    if (removed.length) model.remove(removed);
  };
  const onConnect = (c: Connection): void => model.connect(c.source, c.target);

  const addNode = (): void => {
    const center = flow.screenToFlowPosition({ x: window.innerWidth / 3, y: window.innerHeight / 3 });
    const id = model.add(
      `Idea ${board.nodes.length + 1}`,
      center.x + Math.random() * 80,
      center.y + Math.random() * 80,
    );
    setSelected(new Set([id]));
  };

  const onPointerMove = (e: PointerEvent): void => {
    const point = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    if (pointerFrame.current !== null) cancelAnimationFrame(pointerFrame.current);
    pointerFrame.current = requestAnimationFrame(() => {
      pointerFrame.current = null;
      provider?.presence.update({ pointer: { x: Math.round(point.x), y: Math.round(point.y) } });
    });
  };

  return (
    <div
      className="board"
      data-testid="board"
      onPointerMove={onPointerMove}
      onPointerLeave={() => provider?.presence.update({ pointer: null })}
    >
      <div className="board-toolbar" role="toolbar" aria-label="Board">
        <button type="button" className="primary" onClick={addNode}>
          Add node
        </button>
        {selectedNodes.length === 1 && (
          <input
            aria-label="Node label"
            value={selectedNodes[0]!.label}
            maxLength={80}
            onChange={(e) => model.rename(selectedNodes[0]!.id, e.target.value)}
          />
        )}
        <button type="button" disabled={selected.size === 0} onClick={() => model.remove([...selected])}>
          Delete
        </button>
        <span className="muted hint">Drag from a node’s handle to another to connect.</span>
      </div>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        deleteKeyCode={['Backspace', 'Delete']}
        fitView
        fitViewOptions={{ maxZoom: 1 }}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls />
        <RemotePointers />
      </ReactFlow>
    </div>
  );
}

/** Collaborators' pointers, in board coordinates, with their names. */
function RemotePointers() {
  const others = useOthers();
  return (
    <ViewportPortal>
      {others.map((o) => {
        const pointer = o.state.pointer as { x: number; y: number } | null | undefined;
        if (!pointer) return null;
        const color = String(o.user.color ?? '#888');
        return (
          <div
            key={o.key}
            className="pointer"
            data-testid="remote-pointer"
            style={{ transform: `translate(${pointer.x}px, ${pointer.y}px)`, color }}
          >
            <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">
              <path d="M1 1 L1 13 L5 9.5 L8 15 L10 14 L7 8.5 L12 8.5 Z" fill="currentColor" stroke="white" />
            </svg>
            <span className="pointer-name" style={{ background: color }}>
              {String(o.user.name ?? o.key)}
            </span>
          </div>
        );
      })}
    </ViewportPortal>
  );
}
