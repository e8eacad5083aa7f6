import { useState, type ReactNode } from 'react';

export interface Column<R> {
  readonly header: ReactNode;
  readonly cell: (row: R) => ReactNode;
  /** The cell's class: `right` for numbers and actions (the header follows), `mono` for ids. */
  readonly className?: string;
  /** A tooltip for the cell, e.g. the full id behind a short one. */
  readonly title?: (row: R) => string;
}

/** Past this many rows a table renders only what its scroll box shows (plus a margin). */
const WINDOW_FROM = 150;
/** Rows rendered above and below the visible ones, so a quick scroll does not show blanks. */
const OVERSCAN = 20;

/**
 * The shape every list in the console has: a header row, then one row per item, one cell per
 * column. Views say what each column shows; the markup, keys and test ids live here once.
 * With `windowed` and more than WINDOW_FROM rows the body scrolls in a box of that height and only
 * the rows in view are in the DOM, so a list of thousands stays as quick as one of fifty (no
 * windowing library is installed; rows are taken to be about `rowHeight` tall).
 */
export function DataTable<R>({
  testId,
  columns,
  rows,
  rowKey,
  rowTestId,
  rowClassName,
  windowed,
}: {
  testId: string;
  columns: readonly Column<R>[];
  rows: readonly R[] | undefined;
  rowKey: (row: R) => string | number;
  rowTestId?: (row: R) => string;
  /** E.g. `selected` for the row a detail panel shows. */
  rowClassName?: (row: R) => string | undefined;
  windowed?: { readonly label: string; readonly height: number; readonly rowHeight: number };
}) {
  const [scrollTop, setScrollTop] = useState(0);
  const all = rows ?? [];
  const windowing = windowed !== undefined && all.length > WINDOW_FROM;
  let first = 0;
  let last = all.length;
  if (windowing) {
    first = Math.max(0, Math.floor(scrollTop / windowed.rowHeight) - OVERSCAN);
    last = Math.min(all.length, Math.ceil((scrollTop + windowed.height) / windowed.rowHeight) + OVERSCAN);
  }
  const spacer = (count: number, where: string) =>
    count > 0 ? (
      <tr aria-hidden="true" data-testid={`${testId}-${where}`} style={{ height: count * (windowed?.rowHeight ?? 0) }}>
        <td colSpan={columns.length} />
      </tr>
    ) : null;
  const table = (
    <table className="table" data-testid={testId} aria-rowcount={windowing ? all.length + 1 : undefined}>
      <thead>
        <tr>
          {columns.map((column, i) => (
            <th key={i} className={column.className?.split(' ').includes('right') ? 'right' : undefined}>
              {column.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {spacer(first, 'above')}
        {all.slice(first, last).map((row) => (
          <tr key={rowKey(row)} data-testid={rowTestId?.(row)} className={rowClassName?.(row)}>
            {columns.map((column, i) => (
              <td key={i} className={column.className} title={column.title?.(row)}>
                {column.cell(row)}
              </td>
            ))}
          </tr>
        ))}
        {spacer(all.length - last, 'below')}
      </tbody>
    </table>
  );
  if (!windowing) return table;
  return (
    <div
      className="table-window"
      role="region"
      aria-label={windowed.label}
      tabIndex={0}
      style={{ maxHeight: windowed.height }}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
    >
      {table}
    </div>
  );
}

/** Under a paged list: how many of the matching rows are shown, and a button for the next page. */
export function PageFooter({
  shown,
  total,
  noun,
  hasMore,
  loading,
  onMore,
  testId,
}: {
  shown: number;
  total: number | undefined;
  noun: string;
  hasMore: boolean;
  loading: boolean;
  onMore: () => void;
  testId: string;
}) {
  return (
    <div className="page-footer" data-testid={testId}>
      <span className="muted" role="status">
        {total === undefined
          ? loading
            ? 'Loading…'
            : 'Not loaded'
          : `${shown.toLocaleString('en')} of ${total.toLocaleString('en')} ${noun}`}
      </span>
      {hasMore && (
        <button onClick={onMore} disabled={loading}>
          {loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </div>
  );
}
