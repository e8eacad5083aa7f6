import { useMemo, useState } from 'react';
import schemaSdl from '../../../docs/graphql/schema.graphql?raw';
import { ClientError } from '../client/client';
import { useClient } from '../client/client-context';
import { Card, ErrorBanner, PageHeader } from '../components/ui';

const EXAMPLE = `# One round trip across capabilities; ⌘/Ctrl+Enter runs it.
query Overview($limit: Int) {
  system { status { version mode } }
  jobs { list(limit: $limit) { total jobs { id type state progress } } }
  services { summary { services { name instances instanceList { id state checks { id status } } } } }
}`;

/** The SDL blocks (types, inputs, enums…) whose text mentions the filter, for the schema browser. */
function matchingBlocks(sdl: string, filter: string): string[] {
  const blocks = sdl.split(/\n(?=(?:"""[\s\S]*?"""\n)?(?:type|input|enum|scalar|union) )/);
  const wanted = filter.trim().toLowerCase();
  return wanted === '' ? blocks : blocks.filter((block) => block.toLowerCase().includes(wanted));
}

/**
 * The GraphQL explorer: a query, its variables and its answer, run as the signed-in caller at
 * `/graphql` (so the same roles, limits and audit as any client), beside the schema it runs against.
 * A browser that opens `/graphql` is sent here.
 *
 * Written by hand rather than GraphiQL: GraphiQL 4.1 ran under the console's CSP and completed
 * fields from the schema, but failed the axe check every view passes (its editors' inputs have no
 * name, a tab holds a button, an editor's scroll box takes no focus, its light syntax colours are
 * under 4.5:1), and it adds 1.9 MB of script and 0.4 MB of CSS. Editors that complete, such as
 * GraphiQL, Altair or Insomnia, point at `/graphql` with a key (docs/graphql.md).
 */
export function GraphqlView() {
  const client = useClient();
  const [query, setQuery] = useState(EXAMPLE);
  const [variables, setVariables] = useState('{ "limit": 5 }');
  const [answer, setAnswer] = useState<string>('');
  const [error, setError] = useState<ClientError | null>(null);
  const [running, setRunning] = useState(false);
  const [filter, setFilter] = useState('');
  const blocks = useMemo(() => matchingBlocks(schemaSdl, filter), [filter]);

  const run = async (): Promise<void> => {
    if (client.graphql === undefined) return;
    setError(null);
    let parsed: Record<string, unknown>;
    try {
      parsed = variables.trim() === '' ? {} : (JSON.parse(variables) as Record<string, unknown>);
    } catch {
      setError(new ClientError('PH_INVALID_INPUT', 'The variables are not valid JSON', 'variables'));
      return;
    }
    setRunning(true);
    try {
      const { status, body } = await client.graphql(query, parsed);
      setAnswer(`HTTP ${status}\n${JSON.stringify(body, null, 2)}`);
    } catch (err) {
      setError(err instanceof ClientError ? err : new ClientError('PH_INTERNAL', String(err)));
    } finally {
      setRunning(false);
    }
  };

  return (
    <>
      <PageHeader
        title="GraphQL"
        subtitle="Every operation and event of the console in one schema, at /graphql (HTTP) and /graphql over graphql-ws."
      />
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {client.graphql === undefined ? (
        <div className="notice">
          <span>
            The desktop console talks to Pilothouse over IPC. LAN programs reach GraphQL at <span className="mono">/graphql</span> on the
            embedded server; open the console in a browser to run queries here.
          </span>
        </div>
      ) : (
        <Card title="Query" wide>
          <label className="field">
            <span className="muted small">Document</span>
            <textarea
              className="mono"
              data-testid="graphql-query"
              rows={12}
              spellCheck={false}
              value={query}
              onChange={(e) => (setQuery(e.target.value), setError(null))}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) void run();
              }}
            />
          </label>
          <label className="field">
            <span className="muted small">Variables (JSON)</span>
            <textarea
              className="mono"
              rows={3}
              spellCheck={false}
              value={variables}
              onChange={(e) => (setVariables(e.target.value), setError(null))}
            />
          </label>
          <button className="primary" data-testid="graphql-run" disabled={running} onClick={() => void run()}>
            {running ? 'Running…' : 'Run'}
          </button>
          {answer !== '' && (
            // Scrolls when long: focusable, so the keyboard can scroll it too.
            <pre
              className="mono small"
              data-testid="graphql-answer"
              tabIndex={0}
              role="region"
              aria-label="Answer"
              style={{ whiteSpace: 'pre-wrap', maxHeight: 480, overflow: 'auto' }}
            >
              {answer}
            </pre>
          )}
        </Card>
      )}
      <Card title="Schema" wide>
        <label className="field">
          <span className="muted small">Find a type or field</span>
          <input value={filter} placeholder="e.g. JobInfo, instanceList, jobsProgress" onChange={(e) => setFilter(e.target.value)} />
        </label>
        <pre
          className="mono small"
          tabIndex={0}
          role="region"
          aria-label="Schema (SDL)"
          style={{ whiteSpace: 'pre-wrap', maxHeight: 480, overflow: 'auto' }}
        >
          {blocks.join('\n')}
        </pre>
      </Card>
    </>
  );
}
