import { useState } from 'preact/hooks';
import { useSession } from '../../shell/session';
import { effectiveTenant } from '../../shell/tenant';
import type { Loaded } from '../panels/useApi';
import { RuleEditor, type EditedRule } from './RuleEditor';
import { deleteRule } from './ruleGroupsApi';
import type { RuleGroup } from '@api/alerts';
import { RuleTable } from './RuleTable';

/** The tenant's rules; admins (the ruler API is theirs) create, edit, test and delete them here. */
export function RulesPanel({ rules }: { rules: Loaded<{ data: { groups: RuleGroup[] } }> }) {
  const { can, identity } = useSession();
  const [editing, setEditing] = useState<EditedRule | 'new' | undefined>();
  const [error, setError] = useState<string | undefined>();
  const groups = rules.data?.data.groups;
  const admin = can('admin');

  const remove = async (group: RuleGroup, rule: RuleGroup['rules'][number]) => {
    if (!window.confirm(`Delete rule ${rule.name} from ${group.file}/${group.name}?`)) return;
    try {
      await deleteRule(groups ?? [], { namespace: group.file, group: group.name, alert: rule.name });
      setError(undefined);
      rules.reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  return (
    <section class="panel" aria-label="rules">
      <h2>
        Rules <span class="dim">in tenant {effectiveTenant(identity.tenants)}</span>
        {admin && !editing && (
          <button type="button" class="small" onClick={() => setEditing('new')}>
            New rule
          </button>
        )}
      </h2>
      {editing && (
        <RuleEditor
          key={editing === 'new' ? 'new' : `${editing.group.file}/${editing.group.name}/${editing.rule.name}`}
          groups={groups ?? []}
          edited={editing === 'new' ? undefined : editing}
          onDone={(saved) => {
            setEditing(undefined);
            if (saved) rules.reload();
          }}
        />
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {rules.error ? (
        <p class="error">{rules.error}</p>
      ) : (
        <RuleTable groups={groups} actions={admin ? { edit: (group, rule) => setEditing({ group, rule }), remove } : undefined} />
      )}
    </section>
  );
}
