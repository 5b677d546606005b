#include "widgets/clip_list.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <QApplication>
#include <QContextMenuEvent>
#include <QDrag>
#include <QKeyEvent>
#include <QLocale>
#include <QMenu>
#include <QMimeData>
#include <QPainter>
#include <QUrl>

#include "widgets/qt_text.h"
#include "widgets/theme.h"

namespace tmk::ui {

namespace {

QString titleOf(const tmk::ClipEntry& clip)
{
    return qs(clip.record.title.empty() ? clip.record.prompt : clip.record.title);
}

QDateTime createdOf(const tmk::ClipEntry& clip)
{
    QDateTime when = QDateTime::fromString(qs(clip.record.createdAt), Qt::ISODateWithMs);
    if (!when.isValid()) {
        when = QDateTime::fromString(qs(clip.record.createdAt), Qt::ISODate);
    }
    return when;
}

bool newerFirst(const tmk::ClipEntry& a, const tmk::ClipEntry& b)
{
    if (a.record.createdAt != b.record.createdAt) {
        return a.record.createdAt > b.record.createdAt; // ISO 8601 UTC sorts as text
    }
    return a.id > b.id;
}

QString absolutePath(const std::filesystem::path& path)
{
    std::error_code error;
    const std::filesystem::path absolute = std::filesystem::absolute(path, error);
    return QString::fromStdString((error ? path : absolute).string());
}

} // namespace

// ---- ClipListModel ----

ClipListModel::ClipListModel(QObject* parent)
    : QAbstractListModel(parent)
{
}

ClipListModel::~ClipListModel() = default;

void ClipListModel::setClips(std::vector<tmk::ClipEntry> clips)
{
    std::stable_sort(clips.begin(), clips.end(), newerFirst);
    beginResetModel();
    m_clips = std::move(clips);
    endResetModel();
}

void ClipListModel::updateClip(const tmk::ClipEntry& clip)
{
    const int row = rowOf(qs(clip.id));
    if (row >= 0) {
        m_clips[static_cast<size_t>(row)] = clip;
        Q_EMIT dataChanged(index(row), index(row));
        return;
    }
    const auto place = std::lower_bound(m_clips.begin(), m_clips.end(), clip, newerFirst);
    const int at = static_cast<int>(place - m_clips.begin());
    beginInsertRows(QModelIndex(), at, at);
    m_clips.insert(place, clip);
    endInsertRows();
}

void ClipListModel::removeClip(const QString& id)
{
    const int row = rowOf(id);
    if (row < 0) {
        return;
    }
    beginRemoveRows(QModelIndex(), row, row);
    m_clips.erase(m_clips.begin() + row);
    endRemoveRows();
}

const tmk::ClipEntry* ClipListModel::clipAt(int row) const
{
    if (row < 0 || row >= static_cast<int>(m_clips.size())) {
        return nullptr;
    }
    return &m_clips[static_cast<size_t>(row)];
}

const tmk::ClipEntry* ClipListModel::clip(const QString& id) const
{
    return clipAt(rowOf(id));
}

int ClipListModel::rowOf(const QString& id) const
{
    const std::string key = id.toStdString();
    for (size_t i = 0; i < m_clips.size(); ++i) {
        if (m_clips[i].id == key) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

void ClipListModel::setNow(const QDateTime& now)
{
    m_now = now;
    if (!m_clips.empty()) {
        Q_EMIT dataChanged(index(0), index(rowCount() - 1), { SubtitleRole });
    }
}

QString ClipListModel::formatDuration(double seconds)
{
    const int whole = static_cast<int>(std::lround(std::max(0.0, seconds)));
    return QStringLiteral("%1:%2").arg(whole / 60).arg(whole % 60, 2, 10, QLatin1Char('0'));
}

QString ClipListModel::relativeDate(const QDateTime& when, const QDateTime& now)
{
    if (!when.isValid()) {
        return tr("unknown date");
    }
    const qint64 seconds = when.secsTo(now);
    if (seconds < 45) {
        return tr("just now");
    }
    if (seconds < 3600) {
        return tr("%1 min ago").arg(std::max<qint64>(1, (seconds + 30) / 60));
    }
    const QDate day = when.toLocalTime().date();
    const QDate today = now.toLocalTime().date();
    if (day == today) {
        return tr("%1 h ago").arg(seconds / 3600);
    }
    const qint64 days = day.daysTo(today);
    if (days == 1) {
        return tr("yesterday");
    }
    if (days < 7) {
        return tr("%1 days ago").arg(days);
    }
    return QLocale().toString(day, QLocale::ShortFormat);
}

QString ClipListModel::subtitle(const tmk::ClipEntry& clip) const
{
    const QDateTime now = m_now.isValid() ? m_now : QDateTime::currentDateTimeUtc();
    return QStringLiteral("%1 \u00b7 seed %2 \u00b7 %3")
        .arg(formatDuration(clip.record.durationSeconds))
        .arg(clip.record.sampling.seed)
        .arg(relativeDate(createdOf(clip), now));
}

int ClipListModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_clips.size());
}

QVariant ClipListModel::data(const QModelIndex& index, int role) const
{
    const tmk::ClipEntry* entry = clipAt(index.row());
    if (!index.isValid() || entry == nullptr) {
        return {};
    }
    switch (role) {
    case Qt::DisplayRole:
    case Qt::EditRole:
        return titleOf(*entry);
    case Qt::ToolTipRole:
        return tr("%1\nPrompt: %2\n%3").arg(titleOf(*entry), qs(entry->record.prompt), subtitle(*entry));
    case IdRole:
        return qs(entry->id);
    case SubtitleRole:
        return subtitle(*entry);
    case DurationRole:
        return entry->record.durationSeconds;
    case SeedRole:
        return QVariant::fromValue<qulonglong>(entry->record.sampling.seed);
    case CreatedRole:
        return createdOf(*entry);
    case AudioPathRole:
        return absolutePath(entry->audioPath);
    case PromptRole:
        return qs(entry->record.prompt);
    default:
        return {};
    }
}

bool ClipListModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (role != Qt::EditRole || clipAt(index.row()) == nullptr) {
        return false;
    }
    const QString title = value.toString().simplified();
    tmk::ClipEntry& entry = m_clips[static_cast<size_t>(index.row())];
    if (title.isEmpty() || title == titleOf(entry)) {
        return false;
    }
    // Shown at once; the app re-lists the library when the rename fails.
    entry.record.title = title.toStdString();
    Q_EMIT dataChanged(index, index, { Qt::DisplayRole, Qt::EditRole, Qt::ToolTipRole });
    Q_EMIT renameRequested(qs(entry.id), title);
    return true;
}

Qt::ItemFlags ClipListModel::flags(const QModelIndex& index) const
{
    if (!index.isValid()) {
        return Qt::NoItemFlags;
    }
    return Qt::ItemIsSelectable | Qt::ItemIsEnabled | Qt::ItemIsEditable | Qt::ItemIsDragEnabled
        | Qt::ItemNeverHasChildren;
}

QStringList ClipListModel::mimeTypes() const
{
    return { QStringLiteral("text/uri-list") };
}

// The clips' WAV files as file URLs: a file manager copies them, a DAW imports them.
QMimeData* ClipListModel::mimeData(const QModelIndexList& indexes) const
{
    QList<QUrl> urls;
    QStringList paths;
    for (const QModelIndex& index : indexes) {
        const tmk::ClipEntry* entry = clipAt(index.row());
        if (entry == nullptr) {
            continue;
        }
        const QString path = absolutePath(entry->audioPath);
        if (!paths.contains(path)) {
            paths << path;
            urls << QUrl::fromLocalFile(path);
        }
    }
    if (urls.isEmpty()) {
        return nullptr;
    }
    auto* mime = new QMimeData;
    mime->setUrls(urls);
    mime->setText(paths.join(QLatin1Char('\n')));
    return mime;
}

Qt::DropActions ClipListModel::supportedDragActions() const
{
    return Qt::CopyAction;
}

// ---- ClipDelegate ----

namespace {

struct RowGeometry {
    QRect title;
    QRect subtitle;
};

RowGeometry rowGeometry(const QStyleOptionViewItem& option)
{
    const QFontMetrics fm(option.font);
    const int padX = fm.height() * 2 / 3;
    const int padY = fm.height() / 3;
    const QRect inner = option.rect.adjusted(padX, padY, -padX, -padY);
    RowGeometry g;
    g.title = QRect(inner.left(), inner.top(), inner.width(), fm.height());
    g.subtitle = QRect(inner.left(), g.title.bottom() + 1 + fm.height() / 8, inner.width(), fm.height());
    return g;
}

} // namespace

ClipDelegate::ClipDelegate(QObject* parent)
    : QStyledItemDelegate(parent)
{
}

void ClipDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const QWidget* widget = option.widget;
    QStyle* style = widget != nullptr ? widget->style() : QApplication::style();
    opt.text.clear();
    style->drawPrimitive(QStyle::PE_PanelItemViewItem, &opt, painter, widget);

    const RowGeometry g = rowGeometry(option);
    const bool selected = option.state & QStyle::State_Selected;
    const QPalette& pal = option.palette;
    painter->save();
    QFont titleFont = option.font;
    titleFont.setWeight(QFont::DemiBold);
    painter->setFont(titleFont);
    painter->setPen(pal.color(selected ? QPalette::HighlightedText : QPalette::Text));
    const QString title
        = QFontMetrics(titleFont).elidedText(index.data(Qt::DisplayRole).toString(), Qt::ElideRight, g.title.width());
    painter->drawText(g.title, Qt::AlignLeft | Qt::AlignVCenter, title);

    painter->setFont(option.font);
    painter->setPen(selected ? pal.color(QPalette::HighlightedText) : mutedTextColor(pal));
    const QString sub = option.fontMetrics.elidedText(
        index.data(ClipListModel::SubtitleRole).toString(), Qt::ElideRight, g.subtitle.width());
    painter->drawText(g.subtitle, Qt::AlignLeft | Qt::AlignVCenter, sub);
    painter->restore();
}

QSize ClipDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex& /*index*/) const
{
    const QFontMetrics fm(option.font);
    const int height = fm.height() * 2 + fm.height() / 8 + 2 * (fm.height() / 3) + 2;
    return QSize(fm.horizontalAdvance(QLatin1Char('M')) * 16, height);
}

void ClipDelegate::updateEditorGeometry(
    QWidget* editor, const QStyleOptionViewItem& option, const QModelIndex& /*index*/) const
{
    const RowGeometry g = rowGeometry(option);
    const int grow = option.fontMetrics.height() / 4;
    editor->setGeometry(g.title.adjusted(-grow, -grow, grow, grow));
}

// ---- ClipListView ----

ClipListView::ClipListView(QWidget* parent)
    : QListView(parent)
    , m_model(new ClipListModel(this))
{
    setObjectName(QStringLiteral("clipList"));
    setAccessibleName(tr("Clips"));
    setModel(m_model);
    setItemDelegate(new ClipDelegate(this));
    setSelectionMode(QAbstractItemView::SingleSelection);
    setSelectionBehavior(QAbstractItemView::SelectRows);
    setEditTriggers(QAbstractItemView::EditKeyPressed | QAbstractItemView::DoubleClicked);
    setDragEnabled(true);
    setDragDropMode(QAbstractItemView::DragOnly);
    setDefaultDropAction(Qt::CopyAction);
    setUniformItemSizes(true);
    setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    connect(this, &QListView::clicked, this, [this](const QModelIndex& index) {
        const QString id = idAt(index);
        if (!id.isEmpty()) {
            Q_EMIT auditionRequested(id);
        }
    });
}

ClipListView::~ClipListView() = default;

QString ClipListView::idAt(const QModelIndex& index) const
{
    return index.isValid() ? index.data(ClipListModel::IdRole).toString() : QString();
}

QString ClipListView::currentClipId() const
{
    return idAt(currentIndex());
}

bool ClipListView::selectClip(const QString& id)
{
    const int row = m_model->rowOf(id);
    if (row < 0) {
        return false;
    }
    const QModelIndex index = m_model->index(row);
    setCurrentIndex(index);
    scrollTo(index);
    return true;
}

void ClipListView::keyPressEvent(QKeyEvent* event)
{
    const QString id = currentClipId();
    if (state() != QAbstractItemView::EditingState && !id.isEmpty()) {
        if (event->key() == Qt::Key_Space && event->modifiers() == Qt::NoModifier) {
            Q_EMIT auditionRequested(id);
            event->accept();
            return;
        }
        if (event->key() == Qt::Key_Delete || event->key() == Qt::Key_Backspace) {
            Q_EMIT deleteRequested(id);
            event->accept();
            return;
        }
    }
    QListView::keyPressEvent(event);
}

void ClipListView::contextMenuEvent(QContextMenuEvent* event)
{
    const QModelIndex index = indexAt(event->pos());
    const QString id = idAt(index);
    if (id.isEmpty()) {
        return;
    }
    setCurrentIndex(index);
    QMenu menu(this);
    menu.addAction(tr("Play"), this, [this, id] { Q_EMIT auditionRequested(id); });
    menu.addAction(tr("Rename"), this, [this, index] { edit(index); });
    menu.addAction(tr("Export…"), this, [this, id] { Q_EMIT exportRequested(id); });
    menu.addAction(tr("Restore settings"), this, [this, id] { Q_EMIT restoreSettingsRequested(id); });
    menu.addSeparator();
    menu.addAction(tr("Delete"), this, [this, id] { Q_EMIT deleteRequested(id); });
    menu.exec(event->globalPos());
}

void ClipListView::currentChanged(const QModelIndex& current, const QModelIndex& previous)
{
    QListView::currentChanged(current, previous);
    Q_EMIT currentClipChanged(idAt(current));
}

void ClipListView::startDrag(Qt::DropActions /*supportedActions*/)
{
    const QModelIndexList indexes = selectedIndexes();
    if (indexes.isEmpty()) {
        return;
    }
    QMimeData* mime = m_model->mimeData(indexes);
    if (mime == nullptr) {
        return;
    }
    auto* drag = new QDrag(this);
    drag->setMimeData(mime);
    drag->exec(Qt::CopyAction, Qt::CopyAction);
}

} // namespace tmk::ui
