import type { ReactNode } from 'react';

export interface Column<R> {
  readonly header: ReactNode;
  readonly cell: (row: R) => ReactNode;
  /** The cell's class: `right` for numbers and actions (the header follows), `mono` for ids. */
  readonly className?: string;
  /** A tooltip for the cell, e.g. the full id behind a short one. */
  readonly title?: (row: R) => string;
}

/**
 * The shape every list in the console has: a header row, then one row per item, one cell per
 * column. Views say what each column shows; the markup, keys and test ids live here once.
 */
export function DataTable<R>({
  testId,
  columns,
  rows,
  rowKey,
  rowTestId,
  rowClassName,
}: {
  testId: string;
  columns: readonly Column<R>[];
  rows: readonly R[] | undefined;
  rowKey: (row: R) => string | number;
  rowTestId?: (row: R) => string;
  /** E.g. `selected` for the row a detail panel shows. */
  rowClassName?: (row: R) => string | undefined;
}) {
  return (
    <table className="table" data-testid={testId}>
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
        {(rows ?? []).map((row) => (
          <tr key={rowKey(row)} data-testid={rowTestId?.(row)} className={rowClassName?.(row)}>
            {columns.map((column, i) => (
              <td key={i} className={column.className} title={column.title?.(row)}>
                {column.cell(row)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
