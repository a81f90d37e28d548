/**
 * Import boundaries of src/ (see docs/ARCHITECTURE.md): no cycles between
 * modules, and each top-level folder imports only folders of a lower layer.
 * `npm run check:imports` runs it; `npm test` runs that first.
 */
const layers = [
  ['model', 'errors.ts', 'api'],
  ['formats', 'observability'],
  ['storage'],
  ['pipeline', 'security', 'http', 'cluster'],
  ['config', 'query'],
  ['integrity', 'access'],
  ['ingest', 'alerting', 'archive', 'retention'],
  ['compliance', 'backup', 'policy', 'incidents'],
  ['server', 'agent'],
  ['cli'],
];

/** Folders that may import a folder of their own layer: the API's wire types are built from the record model. */
const sameLayerImports = { api: ['model'] };

const folderPattern = (names) => `^src/(${names.map((name) => name.replace('.', '\\.')).join('|')})(/|$)`;

/** One rule per layer: nothing in it imports a folder of the same or a higher layer but its own. */
const layerRules = layers.flatMap((names, level) =>
  names.map((name) => {
    const allowed = sameLayerImports[name] ?? [];
    const above = layers
      .slice(level)
      .flat()
      .filter((other) => other !== name && !allowed.includes(other));
    const below = [...layers.slice(0, level).flat(), ...allowed];
    return {
      name: `layer-${name}`,
      comment: `src/${name} (layer ${level}) may import only lower layers: ${below.join(', ') || 'nothing of meshlog'}`,
      severity: 'error',
      from: { path: folderPattern([name]) },
      to: { path: folderPattern(above) },
    };
  }),
);

/**
 * Subfolders layered the same way inside their folder: the storage engine
 * knows nothing of the log path or the feature stores, the agent's delivery
 * nothing of its inputs and outputs. So no two sibling folders import each other.
 */
const subfolderLayers = {
  storage: [['engine'], ['logs'], ['stores']],
  agent: [['delivery'], ['inputs', 'outputs']],
};

const subfolderRules = Object.entries(subfolderLayers).flatMap(([folder, levels]) =>
  levels.flatMap((names, level) =>
    names.map((name) => {
      const others = levels
        .slice(level)
        .flat()
        .filter((other) => other !== name);
      return {
        name: `layer-${folder}-${name}`,
        comment: `src/${folder}/${name} may not import src/${folder}/{${others.join(',')}}`,
        severity: 'error',
        from: { path: `^src/${folder}/${name}/` },
        to: { path: `^src/${folder}/(${others.join('|')})/` },
      };
    }),
  ),
);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'modules import each other: break the cycle (a type into model/ or an interface at the seam)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'folder-placed',
      comment: 'every folder of src/ belongs to a layer: add a new one to the table in .dependency-cruiser.cjs and docs/ARCHITECTURE.md',
      severity: 'error',
      from: { path: '^src/', pathNot: folderPattern(layers.flat()) },
      to: {},
    },
    ...layerRules,
    ...subfolderRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a layer that needs a type from above is still upside down.
    tsPreCompilationDeps: true,
  },
};
