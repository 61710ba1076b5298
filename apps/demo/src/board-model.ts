import { useSyncExternalStore } from 'react';
import * as Y from 'yjs';

/**
 * The board in Yjs: `nodes` maps an id to a Y.Map of `x`, `y`, `label` (field by field, so a move and
 * a concurrent rename both survive, and concurrent moves converge on one position); `edges` maps an id
 * to `{ source, target }`.
 */
export interface BoardNode {
  id: string;
  x: number;
  y: number;
  label: string;
}
export interface BoardEdge {
  id: string;
  source: string;
  target: string;
}
export interface BoardState {
  nodes: BoardNode[];
  edges: BoardEdge[];
}

export class BoardModel {
  readonly nodes: Y.Map<Y.Map<unknown>>;
  readonly edges: Y.Map<{ source: string; target: string }>;
  private snapshot: BoardState;

  constructor(private readonly doc: Y.Doc) {
    this.nodes = doc.getMap('nodes');
    this.edges = doc.getMap('edges');
    this.snapshot = this.read();
  }

  private read(): BoardState {
    const nodes: BoardNode[] = [];
    for (const [id, node] of this.nodes) {
      if (!(node instanceof Y.Map)) continue;
      nodes.push({
        id,
        x: Number(node.get('x') ?? 0),
        y: Number(node.get('y') ?? 0),
        label: String(node.get('label') ?? ''),
      });
    }
    const edges: BoardEdge[] = [];
    for (const [id, edge] of this.edges) {
      // An edge whose node was deleted concurrently is not drawn.
      if (this.nodes.has(edge.source) && this.nodes.has(edge.target)) edges.push({ id, ...edge });
    }
    nodes.sort((a, b) => a.id.localeCompare(b.id));
    return { nodes, edges };
  }

  readonly subscribe = (notify: () => void): (() => void) => {
    const onChange = (): void => {
      this.snapshot = this.read();
      notify();
    };
    this.nodes.observeDeep(onChange);
    this.edges.observe(onChange);
    return () => {
      this.nodes.unobserveDeep(onChange);
      this.edges.unobserve(onChange);
    };
  };

  readonly getSnapshot = (): BoardState => this.snapshot;

  add(label: string, x: number, y: number): string {
    const id = `n-${randomId()}`;
    const node = new Y.Map<unknown>();
    this.doc.transact(() => {
      node.set('x', x);
      node.set('y', y);
      node.set('label', label);
      this.nodes.set(id, node);
    });
    return id;
  }

  move(id: string, x: number, y: number): void {
    const node = this.nodes.get(id);
    if (!node) return;
    this.doc.transact(() => {
      node.set('x', Math.round(x));
      node.set('y', Math.round(y));
    });
  }

  rename(id: string, label: string): void {
    this.nodes.get(id)?.set('label', label);
  }

  connect(source: string, target: string): void {
    if (source === target) return;
    for (const edge of this.edges.values()) if (edge.source === source && edge.target === target) return;
    this.edges.set(`e-${randomId()}`, { source, target });
  }

  remove(ids: string[]): void {
    this.doc.transact(() => {
      for (const id of ids) {
        this.nodes.delete(id);
        this.edges.delete(id);
      }
      for (const [id, edge] of this.edges) {
        if (!this.nodes.has(edge.source) || !this.nodes.has(edge.target)) this.edges.delete(id);
      }
    });
  }
}

function randomId(): string {
  return Math.random().toString(36).slice(2, 10);
}

export function useBoardState(model: BoardModel): BoardState {
  return useSyncExternalStore(model.subscribe, model.getSnapshot);
}
