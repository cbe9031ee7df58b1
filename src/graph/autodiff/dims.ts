/**
 * Symbolic dimensions for shape inference: a dim is a number or a canonical string for a product
 * `k*a*b` of atoms (input dims such as "S", or sums such as "(1+S)" kept as opaque atoms). Products
 * and exact quotients stay symbolic, so a reshape round trip ([1,S,64] → [1,-1,2,32] → [1,-1,64])
 * comes back to the same dim — which is what the gradient rules compare when they decide whether an
 * axis was broadcast.
 */
export type Dim = number | string;

interface Term { k: number; atoms: string[] }

const terms = new Map<string, Term>();

function termOf(d: Dim): Term {
  if (typeof d === 'number') return { k: d, atoms: [] };
  return terms.get(d) ?? { k: 1, atoms: [d] };
}

function dimOf(t: Term): Dim {
  if (t.atoms.length === 0) return t.k;
  const atoms = [...t.atoms].sort();
  const s = (t.k === 1 ? '' : `${t.k}*`) + atoms.join('*');
  if (!terms.has(s) && !(t.k === 1 && atoms.length === 1)) terms.set(s, { k: t.k, atoms });
  return s;
}

export function mulDim(a: Dim, b: Dim): Dim {
  const x = termOf(a);
  const y = termOf(b);
  return dimOf({ k: x.k * y.k, atoms: [...x.atoms, ...y.atoms] });
}

/** a / b when exact (symbolically), else undefined. */
export function divDim(a: Dim, b: Dim): Dim | undefined {
  const x = termOf(a);
  const y = termOf(b);
  if (y.k === 0 || x.k % y.k !== 0) return undefined;
  const atoms = [...x.atoms];
  for (const at of y.atoms) {
    const i = atoms.indexOf(at);
    if (i < 0) return undefined;
    atoms.splice(i, 1);
  }
  return dimOf({ k: x.k / y.k, atoms });
}

export function addDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  const parts = [String(a), String(b)].sort();
  return `(${parts.join('+')})`;
}

export function numelOf(shape: readonly Dim[]): Dim {
  return shape.reduce<Dim>((acc, d) => mulDim(acc, d), 1);
}

/** Numpy broadcasting of two shapes (symbolic dims of equal rank position are assumed equal). */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const x = i - (r - a.length) >= 0 ? a[i - (r - a.length)]! : 1;
    const y = i - (r - b.length) >= 0 ? b[i - (r - b.length)]! : 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number' && x !== y) throw new Error(`cannot broadcast [${a.join(',')}] with [${b.join(',')}]`);
    else out.push(typeof x === 'number' ? x : y);
  }
  return out;
}

/**
 * Axes of `full` along which a tensor of shape `part` was broadcast (numpy rules): the leading axes it
 * lacks and the axes where it has a literal 1 and `full` does not.
 */
export function broadcastAxes(part: readonly Dim[], full: readonly Dim[]): number[] {
  const lead = full.length - part.length;
  const axes: number[] = [];
  for (let i = 0; i < full.length; i++) {
    if (i < lead) axes.push(i);
    else if (part[i - lead] === 1 && full[i] !== 1) axes.push(i);
  }
  return axes;
}

export const isStatic = (shape: readonly Dim[]): shape is number[] => shape.every((d) => typeof d === 'number');
