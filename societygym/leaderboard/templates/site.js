function sortTable(table, key, order) {
  const th = table.querySelector('th[data-key="' + key + '"]');
  if (!th) return;
  const numeric = th.dataset.type === 'num', col = th.cellIndex;
  const rows = Array.from(table.tBodies[0].rows);
  const value = r => numeric ? parseFloat(r.cells[col].dataset.value) : r.cells[col].textContent;
  rows.sort((a, b) => {
    const x = value(a), y = value(b);
    const c = numeric ? x - y : String(x).localeCompare(String(y));
    return order === 'asc' ? c : -c;
  });
  rows.forEach(r => table.tBodies[0].appendChild(r));
  table.querySelectorAll('th').forEach(h => h.setAttribute('aria-sort', 'none'));
  th.setAttribute('aria-sort', order === 'asc' ? 'ascending' : 'descending');
  table.dataset.sorted = key + ':' + order;
}
document.addEventListener('DOMContentLoaded', () => {
  const params = new URLSearchParams(location.search);
  document.querySelectorAll('table.board').forEach(table => {
    table.querySelectorAll('th').forEach(th => th.addEventListener('click', () => {
      const [key, order] = (table.dataset.sorted || '').split(':');
      sortTable(table, th.dataset.key,
                key === th.dataset.key && order === 'desc' ? 'asc' : 'desc');
    }));
    if (params.get('sort')) sortTable(table, params.get('sort'), params.get('order') || 'desc');
    table.dataset.ready = String(table.tBodies[0].rows.length);
  });
});
