// The clip library as a list, newest first. Each row shows the clip's title and a second line
// "0:08 · seed 42 · 5 min ago" (ClipDelegate). The title is editable (F2, or double-click): the model emits
// renameRequested and shows the new title at once (the app re-lists the library if the rename fails).
// Rows drag out as files: the mime data holds the clip's WAV file as a file URL (text/uri-list).
#pragma once

#include <vector>

#include <QAbstractListModel>
#include <QDateTime>
#include <QListView>
#include <QString>
#include <QStyledItemDelegate>

#include "tastemaker/clip_library.h"

namespace tmk::ui {

class ClipListModel : public QAbstractListModel {
    Q_OBJECT

public:
    enum Role {
        IdRole = Qt::UserRole + 1, // QString
        SubtitleRole, // QString: "0:08 · seed 42 · 5 min ago"
        DurationRole, // double, seconds
        SeedRole, // qulonglong
        CreatedRole, // QDateTime (UTC)
        AudioPathRole, // QString
        PromptRole, // QString
    };

    explicit ClipListModel(QObject* parent = nullptr);
    ~ClipListModel() override;

    // Replaces the rows; sorted newest first (createdAt, then id).
    void setClips(std::vector<tmk::ClipEntry> clips);
    // Replaces the row with the same id (e.g. after a rename), or inserts it at its place.
    void updateClip(const tmk::ClipEntry& clip);
    void removeClip(const QString& id);
    // nullptr when out of range / unknown.
    const tmk::ClipEntry* clipAt(int row) const;
    const tmk::ClipEntry* clip(const QString& id) const;
    int rowOf(const QString& id) const; // -1 when unknown

    // The "now" relative dates are measured from (the current time when invalid; the tests set it).
    void setNow(const QDateTime& now);
    static QString formatDuration(double seconds); // "0:08", "1:05"
    static QString relativeDate(const QDateTime& when, const QDateTime& now); // "just now", "5 min ago", ...
    QString subtitle(const tmk::ClipEntry& clip) const;

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    QStringList mimeTypes() const override;
    QMimeData* mimeData(const QModelIndexList& indexes) const override;
    Qt::DropActions supportedDragActions() const override;

Q_SIGNALS:
    void renameRequested(const QString& id, const QString& title);

private:
    std::vector<tmk::ClipEntry> m_clips;
    QDateTime m_now;
};

// Paints a row as two lines: the title, and the muted subtitle.
class ClipDelegate : public QStyledItemDelegate {
    Q_OBJECT

public:
    explicit ClipDelegate(QObject* parent = nullptr);
    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    void updateEditorGeometry(
        QWidget* editor, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

// The view owns a ClipListModel (clipModel()) and a ClipDelegate. Click or Space: auditionRequested;
// Delete: deleteRequested; a context menu offers Play, Rename, Export…, Restore settings and Delete.
class ClipListView : public QListView {
    Q_OBJECT

public:
    explicit ClipListView(QWidget* parent = nullptr);
    ~ClipListView() override;

    ClipListModel* clipModel() const { return m_model; }
    // The current row's clip id; empty when none.
    QString currentClipId() const;
    // Makes `id`'s row current (and selected); false when unknown.
    bool selectClip(const QString& id);

Q_SIGNALS:
    void auditionRequested(const QString& id);
    void deleteRequested(const QString& id);
    void exportRequested(const QString& id);
    void restoreSettingsRequested(const QString& id);
    void currentClipChanged(const QString& id); // empty when none

protected:
    void keyPressEvent(QKeyEvent* event) override;
    void contextMenuEvent(QContextMenuEvent* event) override;
    void currentChanged(const QModelIndex& current, const QModelIndex& previous) override;
    void startDrag(Qt::DropActions supportedActions) override;

private:
    QString idAt(const QModelIndex& index) const;

    ClipListModel* m_model = nullptr;
};

} // namespace tmk::ui
