import { useState } from 'react';

/** JSON as a collapsible tree: objects and arrays open on click; the first levels open. */
export function JsonView({ value, depth = 0 }: { value: unknown; depth?: number }) {
  const [open, setOpen] = useState(depth < 1);
  if (value === null || typeof value !== 'object') {
    return <span className={`json-${value === null ? 'null' : typeof value}`}>{JSON.stringify(value)}</span>;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const [l, r] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (!entries.length) return <span>{`${l}${r}`}</span>;
  return (
    <span className="json">
      <button type="button" className="toggle" onClick={() => setOpen(!open)} aria-expanded={open}>
        {open ? '▾' : '▸'} {l}
        {!open && ` ${entries.length} ${Array.isArray(value) ? 'items' : 'keys'} ${r}`}
      </button>
      {open && (
        <>
          <ul>
            {entries.map(([k, v]) => (
              <li key={k}>
                <span className="json-key">{Array.isArray(value) ? k : JSON.stringify(k)}</span>:{' '}
                <JsonView value={v} depth={depth + 1} />
              </li>
            ))}
          </ul>
          {r}
        </>
      )}
    </span>
  );
}
